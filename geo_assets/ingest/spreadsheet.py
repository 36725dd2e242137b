"""The spreadsheet template as CSV and XLSX files (columns: :mod:`geo_assets.ingest.template`).

Rows are numbered as the spreadsheet shows them: the header is row 1, the first
activity row 2. CSV files are read as UTF-8 (with or without a byte-order mark), UTF-16
with a byte-order mark, or, failing those, Windows-1252 with a warning in the report;
the delimiter (comma, semicolon or tab) is taken from the header line. A file that is
not text (an .xlsx or image renamed .csv, random bytes) is refused at once with a
report naming the problem, never by reading all of it.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from geo_assets.errors import RowError
from geo_assets.geocode import Geocoder
from geo_assets.ingest.base import MAX_UNPACKED_BYTES, ParsedFeed, unpacked_problem
from geo_assets.ingest.template import (
    COLUMN_NAMES,
    COLUMNS,
    DEFAULT_SOURCE,
    REQUIRED,
    RowReader,
    asset_row,
    column_letter,
    normalise_header,
    organisations_by_name,
)
from geo_assets.model import Asset
from geo_assets.store.base import AssetFilters, Store, iter_assets, iter_organisations
from geo_assets.taxonomy import DATA_DIR

# How much of a file is sniffed for binary content before parsing.
_SNIFF_BYTES = 64 * 1024
# A CSV cell longer than this is not a spreadsheet cell but a broken file.
_MAX_CELL_CHARS = 100_000
SHEET_NAME = "activities"
# Columns read from a sheet: the template has a few dozen; a sheet may declare 16,384.
MAX_COLUMNS = 200
# What makes Excel (and its kin) read a CSV cell as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXAMPLE_CSV = DATA_DIR / "templates" / "activities.csv"
EXAMPLE_XLSX = DATA_DIR / "templates" / "activities.xlsx"


def _file_error(message: str, field: str = "(file)") -> ParsedFeed:
    return ParsedFeed(errors=[RowError(0, field, message)])


# --- reading ---------------------------------------------------------------------------------


def decode_text(raw: bytes) -> tuple[str | None, list[str], str | None]:
    """(text, warnings, error) for the bytes of a text file; text None when refused."""
    head = raw[:_SNIFF_BYTES]
    if head.startswith(b"PK\x03\x04"):
        return None, [], "this is a zip file (an .xlsx workbook?), not CSV: use FORMAT xlsx"
    if head.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), [], None
        except UnicodeDecodeError as exc:
            return None, [], f"starts as UTF-8 but byte {exc.start + 3} is not UTF-8"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), [], None
        except UnicodeDecodeError:
            return None, [], "starts as UTF-16 but is not valid UTF-16 text"
    if b"\x00" in head or _control_share(head) > 0.01:
        return None, [], "this is not a text file (binary data); save the sheet as CSV"
    try:
        return raw.decode("utf-8"), [], None
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        return (
            None,
            [],
            (
                f"not UTF-8 (byte {utf8_error.start}) and not Windows-1252 either; "
                "save the sheet as 'CSV UTF-8'"
            ),
        )
    line = raw.count(b"\n", 0, utf8_error.start) + 1
    return (
        text,
        [
            f"the file is not UTF-8 (first at line {line}); read it as Windows-1252 (cp1252). "
            "Check accented letters and '£', or save the sheet as 'CSV UTF-8'"
        ],
        None,
    )


def _control_share(head: bytes) -> float:
    if not head:
        return 0.0
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    return controls / len(head)


def parse_csv(
    path: str | Path,
    *,
    source: str | None = None,
    geocoder: Geocoder | None = None,
    max_rows: int | None = None,
    known_organisations: Mapping[str, str] | None = None,
    key_by_organisation: bool = True,
) -> ParsedFeed:
    """Read the template from a CSV file (see the module docstring for encodings).

    With a ``geocoder``, rows with no lat/lon are placed by postcode, place or address.
    With ``known_organisations`` (``stored_organisations``), a row naming a stored
    organisation goes under it; ``key_by_organisation`` is ``RowReader``'s."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return _file_error(f"cannot read {path}: {exc.strerror or exc}")
    text, warnings, error = decode_text(raw)
    if text is None:
        return _file_error(error or "unreadable")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    csv.field_size_limit(max(_MAX_CELL_CHARS, 1))
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    cells = (
        row if isinstance(row, RowError) else [unguarded(cell) for cell in row]
        for row in _safe_csv(rows)
    )
    feed = _parse_rows(
        cells,
        source=source,
        geocoder=geocoder,
        max_rows=max_rows,
        known_organisations=known_organisations,
        key_by_organisation=key_by_organisation,
    )
    feed.warnings[:0] = warnings
    return feed


def _safe_csv(rows: Iterator[list[str]]) -> Iterator[Sequence[Any] | RowError]:
    """Rows of a CSV reader; a broken row ends the file with one RowError."""
    line = 0
    while True:
        line += 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(line, "(row)", f"not valid CSV: {exc}; reading stopped here")
            return
        yield row


def parse_xlsx(
    path: str | Path,
    *,
    source: str | None = None,
    geocoder: Geocoder | None = None,
    max_rows: int | None = None,
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
    known_organisations: Mapping[str, str] | None = None,
    key_by_organisation: bool = True,
) -> ParsedFeed:
    """Read the template from the first sheet (or the sheet named "activities"); rows
    with no lat/lon are placed, and organisations matched, as ``parse_csv`` does.

    The sheet's own claim of its size is not believed (openpyxl would pad every row to
    it: a 5 KB workbook claiming 16,384 columns by 100,000 rows took minutes), and a
    workbook that would unpack past ``max_unpacked_bytes`` is refused unread."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(Path(path)) as packed:
            parts = packed.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        return _file_error(f"not an Excel .xlsx workbook ({type(exc).__name__}: {exc})")
    if problem := unpacked_problem(parts, max_bytes=max_unpacked_bytes):
        return _file_error(f"the workbook is refused: {problem}; save it again, or split it")
    try:
        book = load_workbook(Path(path), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        return _file_error(f"not an Excel .xlsx workbook ({type(exc).__name__}: {exc})")
    except Exception as exc:  # openpyxl raises many types for damaged workbooks
        return _file_error(f"the workbook cannot be read ({type(exc).__name__}: {exc})")
    try:
        sheet = book[SHEET_NAME] if SHEET_NAME in book.sheetnames else book.worksheets[0]
        return _parse_rows(
            sheet_rows(sheet),
            source=source,
            geocoder=geocoder,
            max_rows=max_rows,
            known_organisations=known_organisations,
            key_by_organisation=key_by_organisation,
        )
    finally:
        book.close()


def sheet_rows(sheet: Any) -> Iterator[tuple[Any, ...]]:
    """A read-only sheet's rows as they are stored (``MAX_COLUMNS`` cells each, the rest
    unread), however many rows and columns the sheet says it has."""
    sheet.reset_dimensions()
    return sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)  # type: ignore[no-any-return]


def stored_organisations(store: Store) -> dict[str, str]:
    """The parsers' ``known_organisations``: the store's, by name (``organisations_by_name``)."""
    return organisations_by_name(iter_organisations(store))


def _parse_rows(
    rows: Iterable[Sequence[Any] | RowError],
    *,
    source: str | None = None,
    geocoder: Geocoder | None = None,
    max_rows: int | None = None,
    known_organisations: Mapping[str, str] | None = None,
    key_by_organisation: bool = True,
) -> ParsedFeed:
    """Header then data rows -> a feed; problems are collected per row, never raised.
    Rows past ``max_rows`` (blank or not) are a problem of the file, and reading stops.
    A row with cells past the header's last column is refused: in a CSV file that is a
    cell holding the delimiter unquoted, and the row's later cells sit in the wrong columns."""
    iterator = iter(rows)
    header: Sequence[Any] | RowError | None = None
    for header in iterator:
        if isinstance(header, RowError) or any(_filled(c) for c in header):
            break
    if header is None or isinstance(header, RowError):
        return ParsedFeed(errors=[header] if header else [RowError(0, "(file)", "file is empty")])
    names = [normalise_header(h) for h in header]
    feed = ParsedFeed()
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        found = ", ".join(repr(str(h)[:40]) for h in header[:12] if _filled(h)) or "nothing"
        feed.errors.append(
            RowError(
                1,
                ", ".join(missing),
                f"missing column(s) {', '.join(missing)}; the header row "
                f"has {found}. Required: {', '.join(REQUIRED)}",
            )
        )
        return feed
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        feed.errors.append(
            RowError(1, repeated[0], f"column(s) {', '.join(repeated)} appear more than once")
        )
        return feed
    ignored = [str(h) for h, n in zip(header, names, strict=True) if n and n not in COLUMN_NAMES]
    if ignored:
        feed.warnings.append(f"ignored unknown column(s): {', '.join(ignored[:20])}")
    index = {n: i for i, n in enumerate(names) if n in COLUMN_NAMES}
    width = _width(header)
    reader = RowReader(
        source=source or DEFAULT_SOURCE,
        geocoder=geocoder,
        known_organisations=known_organisations,
        key_by_organisation=key_by_organisation,
    )
    records: list[tuple[int, Asset | dict[str, Any]]] = []
    header_row = 1
    for row_no, row in enumerate(iterator, start=header_row + 1):
        if isinstance(row, RowError):
            feed.errors.append(RowError(row_no, row.field, row.message))
            break
        if max_rows is not None and row_no > header_row + max_rows:
            # Counting blank rows too: a sheet can be made to yield a million of them.
            feed.errors.append(
                RowError(
                    row_no,
                    "(file)",
                    f"the sheet goes on past {max_rows:,} rows: upload at most that many"
                    " rows a file, with no blank rows after them",
                )
            )
            break
        used = _width(row)
        if not used:
            continue
        if used > width:
            feed.errors.append(
                RowError(
                    row_no,
                    "(row)",
                    f"row {row_no} has {used} cells, the header has {width}: clear column "
                    f"{column_letter(width)} onwards or give it a header (in a CSV file, a "
                    "cell holding the delimiter needs double quotes round it)",
                )
            )
            continue
        cells = {n: (row[i] if i < len(row) else None) for n, i in index.items()}

        def ref(column: str, _row: int = row_no) -> str:
            return f"{column_letter(index[column])}{_row}" if column in index else column

        result = reader.read(row_no, cells, ref)
        if isinstance(result, list):
            feed.errors.extend(result)
        else:
            records.append((row_no, result))
    feed.records = records
    feed.organisations = list(reader.organisations.values())
    if reader.placed:
        rows_text = ", ".join(f"{row} at {label}" for row, label in reader.placed[:20]) + (
            ", ..." if len(reader.placed) > 20 else ""
        )
        feed.warnings.append(
            f"{len(reader.placed)} row(s) gave no lat/lon and were placed at their postcode's "
            f"or place's centre (rows {rows_text}); their pins say so until someone moves them"
        )
    return feed


def _filled(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def _width(cells: Sequence[Any]) -> int:
    """Cells up to the last filled one (a sheet's blank cells after it are no column)."""
    return next((i + 1 for i in range(len(cells) - 1, -1, -1) if _filled(cells[i])), 0)


# --- writing ---------------------------------------------------------------------------------


def template_rows(store: Store, filters: AssetFilters | None = None) -> Iterator[dict[str, Any]]:
    org_names: dict[str, str | None] = {}
    for asset in iter_assets(store, filters):
        org_id = asset.organisation_id
        if org_id and org_id not in org_names:
            try:
                org_names[org_id] = store.get_organisation(org_id).name
            except Exception:  # a dangling reference exports without the name
                org_names[org_id] = None
        yield asset_row(asset, org_names.get(org_id) if org_id else None)


def export_csv(store: Store, path: str | Path, filters: AssetFilters | None = None) -> int:
    """Write the template as UTF-8 CSV with a byte-order mark (so Excel shows '£' right).

    Text that Excel would run as a formula is written ``guarded``: listings' text comes
    from organisations, and the file is opened by whoever runs the export."""
    count = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMN_NAMES)
        writer.writeheader()
        for row in template_rows(store, filters):
            writer.writerow({name: guarded(value) for name, value in row.items()})
            count += 1
    return count


def guarded(value: Any) -> Any:
    """``=HYPERLINK(...)`` -> ``'=HYPERLINK(...)``: a cell that starts as a formula does
    (``= + - @``, a tab or a carriage return) gets an apostrophe first, which Excel shows
    as text and ``unguarded`` takes off again on import. Numbers (-1.759) stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def unguarded(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA_STARTS) else value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def export_xlsx(store: Store, path: str | Path, filters: AssetFilters | None = None) -> int:
    return write_xlsx(path, template_rows(store, filters))


def write_xlsx(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """A workbook with the "activities" sheet and a "columns" sheet explaining each column."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_NAME)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)

    def header_cell(text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        return cell

    sheet.append([header_cell(c) for c in COLUMN_NAMES])
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, row.get(c)) for c in COLUMN_NAMES])
        count += 1
    docs = book.create_sheet("columns")
    docs.append([header_cell("column"), header_cell("required"), header_cell("what to write")])
    for col in COLUMNS:
        docs.append([col.name, "yes" if col.required else "", col.help])
    book.save(Path(path))
    return count


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    """The cell for one value; text starting with '=' stays text, never a formula. Control
    characters a workbook cannot hold (openpyxl refuses them, and with them the whole
    export) become spaces."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub(" ", value)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def write_example_xlsx(
    csv_path: str | Path = EXAMPLE_CSV, xlsx_path: str | Path = EXAMPLE_XLSX
) -> int:
    """Regenerate the example workbook from the example CSV (both in data/templates/)."""
    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        rows = [_typed(row) for row in csv.DictReader(fh)]
    return write_xlsx(xlsx_path, rows)


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    """Numbers as numbers, as a person typing into Excel would get them."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in ("lat", "lon", "min_age", "max_age", "group_size") and value:
            number = float(value)
            out[key] = int(number) if key != "lat" and key != "lon" else number
        else:
            out[key] = value
    return out


if __name__ == "__main__":  # pragma: no cover - `python -m geo_assets.ingest.spreadsheet`
    print(f"wrote {write_example_xlsx()} rows to {EXAMPLE_XLSX}")
