"""Loading the geocoder's tables: ``geo-assets import postcodes FILE`` / ``import places FILE``.

Postcodes come from an ONS Postcode Directory-style CSV: a postcode column (``pcds``,
else ``pcd``, ``pcd2`` or ``postcode``) and ``lat`` / ``long`` (WGS84 degrees; ``lon``,
``lng``, ``latitude``, ``longitude`` are read too). The file is streamed, so the full
directory (about 2.7 million rows) never sits in memory. Rows the ONS publishes with no
location (``lat`` 99.999999) are counted and left out, not reported as errors.

Places come from a CSV gazetteer (``name``, ``lat``, ``lon``, optional ``kind``) or an
OpenStreetMap ``.osm.pbf`` extract (via pyrosm): every named ``place=*`` (city, town,
suburb, village, neighbourhood...) plus landmarks people give directions by (stations,
parks, town halls, libraries, museums, hospitals, universities, bus stations).

Like the asset imports, a load is all or nothing: any bad row means nothing is written,
unless ``skip_invalid``, which loads the good rows and reports the rest; ``dry_run``
checks everything and writes nothing.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from geo_assets.errors import GeoAssetsError, RowError
from geo_assets.store.base import Store
from geo_assets.store.gazetteer import (
    Place,
    check_point,
    normalise_place_name,
    normalise_postcode,
)

# Problems listed in a report; more are counted.
MAX_REPORTED = 1000
# The ONS Postcode Directory's "no grid reference" point.
ONS_NO_LAT = 99.999999
_POSTCODE_COLUMNS = ("pcds", "pcd", "pcd2", "postcode", "postal_code", "zip")
_LAT_COLUMNS = ("lat", "latitude")
_LON_COLUMNS = ("long", "lon", "lng", "longitude")
_NAME_COLUMNS = ("name", "place", "place_name")
_KIND_COLUMNS = ("kind", "type", "place_type")
_POSTCODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -")
_SNIFF_BYTES = 65536
# OSM landmarks kept besides place=*, and the kind each is filed under.
OSM_LANDMARKS: dict[str, dict[str, str]] = {
    "railway": {"station": "station", "halt": "station"},
    "public_transport": {"station": "station"},
    "amenity": {
        "townhall": "landmark",
        "library": "landmark",
        "hospital": "landmark",
        "university": "landmark",
        "college": "landmark",
        "bus_station": "station",
        "marketplace": "landmark",
        "community_centre": "landmark",
    },
    "tourism": {"museum": "landmark", "attraction": "landmark"},
    "leisure": {"park": "park", "stadium": "landmark", "sports_centre": "landmark"},
}
TableKind = Literal["postcodes", "places"]


class _Refused(Exception):
    """Raised from the row stream so the store rolls the load back."""


@dataclass
class TableImportReport:
    """What one postcode/place load did; ``written`` is 0 when it was refused."""

    table: TableKind
    read: int = 0
    written: int = 0
    skipped: int = 0
    unlocated: int = 0
    errors: list[RowError] = field(default_factory=list)
    more_errors: int = 0
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add_error(self, error: RowError) -> None:
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(error)
        else:
            self.more_errors += 1

    def summary(self) -> str:
        problems = len(self.errors) + self.more_errors
        if self.dry_run:
            head = f"dry run: {self.read - problems - self.unlocated} valid {self.table} row(s)"
            head += ", nothing written"
        elif problems and not self.written and not self.skipped:
            head = f"{self.table} import refused, nothing written"
        else:
            head = f"{self.written} {self.table} row(s) loaded"
        tail = f"; {problems} problem(s)" if problems else ""
        if self.skipped:
            tail += f"; {self.skipped} row(s) skipped"
        if self.unlocated:
            tail += f"; {self.unlocated} row(s) without a location left out"
        return head + tail

    def render(self, *, max_rows: int = 200) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        parts: list[Any] = [Text(self.summary(), style="bold red" if self.errors else "bold")]
        parts.extend(Text(f"warning: {w}", style="yellow") for w in self.warnings)
        if self.errors:
            table = Table("row", "field", "problem", title="Problems", title_justify="left")
            for err in self.errors[:max_rows]:
                table.add_row(str(err.row) if err.row else "(file)", err.field, err.message)
            parts.append(table)
            hidden = len(self.errors) - max_rows + self.more_errors
            if hidden > 0:
                parts.append(Text(f"... and {hidden} more"))
        return Group(*parts)


# --- reading files ---------------------------------------------------------------------------


def _sniff(path: Path) -> str | None:
    """A reason the file is not CSV text, or None."""
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith(b"PK\x03\x04"):
        return "this is a zip file; unzip it and give the CSV inside"
    if b"\x00" in head:
        return "this is not a text file (binary data); expected CSV"
    return None


def _pick(header: list[str], names: Iterable[str]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _csv_rows(path: Path, report: TableImportReport) -> tuple[list[str], Iterator[list[str]]]:
    """The header and a stream of rows (UTF-8, undecodable bytes replaced; a row then
    fails its checks rather than the whole file)."""
    handle = open(path, encoding="utf-8-sig", errors="replace", newline="")  # noqa: SIM115
    first = handle.readline()
    delimiter = max(",;\t", key=first.count)
    handle.seek(0)
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        handle.close()
        return [], iter(())

    def rows() -> Iterator[list[str]]:
        with handle:
            line = 1
            while True:
                line += 1
                try:
                    yield next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    report.add_error(RowError(line, "(row)", f"not valid CSV: {exc}; stopped"))
                    return

    return header, rows()


def _missing(what: str, names: Iterable[str], header: list[str]) -> RowError:
    found = ", ".join(h.strip() for h in header[:20]) or "nothing"
    wanted = " or ".join(f"`{n}`" for n in names)
    return RowError(0, "(header)", f"no {what} column ({wanted}); the header has: {found}")


def read_postcodes(path: Path, report: TableImportReport) -> Iterator[tuple[int, Any]]:
    """(row number, (postcode, lat, lon) or RowError) for each data row of an ONSPD-style CSV;
    rows with no location are counted in ``report.unlocated`` and left out."""
    header, rows = _csv_rows(path, report)
    cols = [_pick(header, n) for n in (_POSTCODE_COLUMNS, _LAT_COLUMNS, _LON_COLUMNS)]
    if any(c is None for c in cols):
        for c, (what, names) in zip(
            cols,
            (
                ("postcode", _POSTCODE_COLUMNS),
                ("latitude", _LAT_COLUMNS),
                ("longitude", _LON_COLUMNS),
            ),
            strict=True,
        ):
            if c is None:
                report.add_error(_missing(what, names, header))
        return
    pc, la, lo = (int(c) for c in cols)  # type: ignore[arg-type]
    width = max(pc, la, lo) + 1
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        report.read += 1
        if len(row) < width:
            yield line, RowError(line, "(row)", f"has {len(row)} column(s), expected {width}")
            continue
        code = normalise_postcode(row[pc])
        if not code:
            yield line, RowError(line, header[pc].strip(), "postcode is empty")
            continue
        if not set(code) <= _POSTCODE_CHARS or len(code) > 10:
            yield (
                line,
                RowError(
                    line,
                    header[pc].strip(),
                    f"{row[pc]!r} is not a postcode (letters, digits, spaces, hyphens; "
                    "at most 10 characters; is the file UTF-8?)",
                ),
            )
            continue
        got = _point(line, row[la], row[lo], header[la].strip(), header[lo].strip())
        yield line, (code, *got) if isinstance(got, tuple) else got


def _point(line: int, lat: str, lon: str, lat_col: str, lon_col: str) -> Any:
    """(lat, lon), or None for the ONS "no location" point, or a RowError naming the column."""
    try:
        if float(lat) == ONS_NO_LAT:
            return None
    except ValueError:
        pass
    try:
        return check_point(lat.strip(), lon.strip())
    except GeoAssetsError as exc:
        column = lat_col if getattr(exc, "field", None) == "lat" else lon_col
        message = str(exc).replace("`lat`", "latitude").replace("`lon`", "longitude")
        return RowError(line, column, message)


def read_places_csv(path: Path, report: TableImportReport) -> Iterator[tuple[int, Any]]:
    """(row number, Place or RowError) for each data row of a CSV gazetteer."""
    header, rows = _csv_rows(path, report)
    name_c = _pick(header, _NAME_COLUMNS)
    lat_c, lon_c = _pick(header, _LAT_COLUMNS), _pick(header, _LON_COLUMNS)
    kind_c = _pick(header, _KIND_COLUMNS)
    for c, what, names in (
        (name_c, "name", _NAME_COLUMNS),
        (lat_c, "latitude", _LAT_COLUMNS),
        (lon_c, "longitude", _LON_COLUMNS),
    ):
        if c is None:
            report.add_error(_missing(what, names, header))
    if name_c is None or lat_c is None or lon_c is None:
        return
    width = max(name_c, lat_c, lon_c) + 1
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        report.read += 1
        if len(row) < width:
            yield line, RowError(line, "(row)", f"has {len(row)} column(s), expected {width}")
            continue
        name = " ".join(row[name_c].split())
        if not normalise_place_name(name):
            yield line, RowError(line, header[name_c].strip(), "name is empty")
            continue
        kind = row[kind_c].strip().lower() if kind_c is not None and kind_c < len(row) else ""
        got = _point(line, row[lat_c], row[lon_c], header[lat_c].strip(), header[lon_c].strip())
        if got is None:  # the ONS "no location" point means nothing in a gazetteer either
            got = RowError(
                line, header[lat_c].strip(), f"latitude {row[lat_c]!r} is a no-data value"
            )
        yield line, Place(name, got[0], got[1], kind or "place") if isinstance(got, tuple) else got


def read_places_osm(path: Path, report: TableImportReport) -> Iterator[tuple[int, Any]]:
    """(feature number, Place) for every named place and landmark of an .osm.pbf extract."""
    import pyrosm

    with open(path, "rb") as fh:
        head = fh.read(16)
    if len(head) < 16 or b"OSMHeader" not in head:
        report.add_error(RowError(0, "(file)", "not an OpenStreetMap .osm.pbf file"))
        return
    try:
        osm = pyrosm.OSM(str(path))
        places = osm.get_data_by_custom_criteria(
            custom_filter={"place": True}, tags_as_columns=["name", "place"]
        )
        landmarks = osm.get_pois(custom_filter={k: list(v) for k, v in OSM_LANDMARKS.items()})
    except Exception as exc:  # pyrosm fails in many ways on damaged files
        report.add_error(RowError(0, "(file)", f"cannot read the .osm.pbf file: {exc}"))
        return
    n = 0
    for frame, kind_of in ((places, _place_kind), (landmarks, _landmark_kind)):
        if frame is None or len(frame) == 0:
            continue
        for feature in frame.to_dict("records"):
            n += 1
            name, kind = feature.get("name"), kind_of(feature)
            if not _text(name) or kind is None or feature.get("geometry") is None:
                continue
            report.read += 1
            point = feature["geometry"].representative_point()
            yield n, Place(" ".join(str(name).split()), point.y, point.x, kind)


def _text(value: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(str(value).strip())


def _place_kind(feature: dict[str, Any]) -> str | None:
    kind = feature.get("place")
    return str(kind).strip().lower() if _text(kind) else None


def _landmark_kind(feature: dict[str, Any]) -> str | None:
    for key, values in OSM_LANDMARKS.items():
        value = feature.get(key)
        if _text(value) and str(value) in values:
            return values[str(value)]
    return None


# --- loading ---------------------------------------------------------------------------------


def _checked(
    rows: Iterable[tuple[int, Any]], report: TableImportReport, skip_invalid: bool
) -> Iterator[Any]:
    """The good rows; problems go to ``report``. Without ``skip_invalid`` the first problem
    stops the writing: the rest is only checked, then ``_Refused`` rolls the load back."""
    refusing = False
    for _, item in rows:
        if item is None:
            report.unlocated += 1
        elif isinstance(item, RowError):
            report.add_error(item)
            report.skipped += 1
            refusing = refusing or not skip_invalid
        elif not refusing:
            yield item
    if report.errors and not skip_invalid:
        raise _Refused


def _load(
    table: TableKind,
    read: Callable[[Path, TableImportReport], Iterator[tuple[int, Any]]],
    write: Callable[[Iterable[Any]], int] | None,
    path: Path | str,
    *,
    dry_run: bool,
    skip_invalid: bool,
) -> TableImportReport:
    report = TableImportReport(table, dry_run=dry_run)
    file = Path(path)
    if not file.is_file():
        report.add_error(RowError(0, "(file)", f"no such file: {file}"))
        return report
    if file.suffix != ".pbf" and (reason := _sniff(file)):
        report.add_error(RowError(0, "(file)", reason))
        return report
    rows = read(file, report)
    try:
        if dry_run or write is None:
            for _ in _checked(rows, report, True):
                pass
        else:
            report.written = write(_checked(rows, report, skip_invalid))
    except _Refused:
        report.written = 0
        report.skipped = 0
    if dry_run:
        report.skipped = 0
    report.errors.sort(key=lambda e: e.row)
    return report


def import_postcodes(
    store: Store, path: Path | str, *, dry_run: bool = False, skip_invalid: bool = False
) -> TableImportReport:
    """Load an ONSPD-style postcode CSV into ``store`` (see the module notes)."""
    return _load(
        "postcodes",
        read_postcodes,
        None if dry_run else store.upsert_postcodes,
        path,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
    )


def import_places(
    store: Store, path: Path | str, *, dry_run: bool = False, skip_invalid: bool = False
) -> TableImportReport:
    """Load a gazetteer CSV or an OpenStreetMap .osm.pbf extract into ``store``."""
    read = read_places_osm if str(path).endswith(".pbf") else read_places_csv
    return _load(
        "places",
        read,
        None if dry_run else store.upsert_places,
        path,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
    )


def load_geocode_sample(store: Store, folder: Path | str | None = None) -> tuple[int, int]:
    """Load the synthetic demo postcodes and places (``data/geocode/``); returns
    (postcodes, places) loaded. Idempotent: a second load rewrites the same rows."""
    from geo_assets.taxonomy import DATA_DIR

    where = Path(folder) if folder is not None else DATA_DIR / "geocode"
    counts = []
    for load, name in (
        (import_postcodes, "postcodes_sample.csv"),
        (import_places, "places_sample.csv"),
    ):
        report = load(store, where / name)
        if not report.ok:
            raise ValueError(f"{where / name}: {report.summary()}")
        counts.append(report.written)
    return counts[0], counts[1]
