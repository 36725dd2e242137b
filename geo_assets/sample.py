"""The demo sample data: files in ``data/sample/`` and loading them into a store.

The files are gzip-compressed JSON Lines written by :func:`write_sample` from the
deterministic generator in :mod:`geo_assets.synthetic`; gzip's header carries no
time or file name, so regenerating gives the same bytes. Loading is idempotent:
organisations are created only when missing and assets are upserted by
(source, source_id), so a second load updates and never duplicates.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from geo_assets.errors import NotFoundError
from geo_assets.model import Asset, Organisation
from geo_assets.store.base import Store, UpsertReport
from geo_assets.synthetic import SAMPLE_SEED, generate_sample
from geo_assets.taxonomy import DATA_DIR

SAMPLE_DIR = DATA_DIR / "sample"
ORGANISATIONS_FILE = "organisations.jsonl.gz"
ASSETS_FILE = "assets.jsonl.gz"


def _jsonl_gz(records: Iterable[dict[str, Any]]) -> bytes:
    """One compact JSON object per line, gzipped with mtime 0 and no file name (reproducible)."""
    raw = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(raw.encode("utf-8"))
    return buffer.getvalue()


def write_sample(path: Path | str = SAMPLE_DIR, *, seed: int = SAMPLE_SEED) -> list[Path]:
    """Generate the sample; write ``organisations.jsonl.gz`` and ``assets.jsonl.gz`` to ``path``.

    Returns the paths written. Venues come before the groups that meet at them.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    organisations, assets = generate_sample(seed)
    out = []
    for name, models in ((ORGANISATIONS_FILE, organisations), (ASSETS_FILE, assets)):
        target = folder / name
        target.write_bytes(_jsonl_gz(m.model_dump(mode="json") for m in models))
        out.append(target)
    return out


def _read_lines(file: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(file, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def read_sample(
    path: Path | str = SAMPLE_DIR,
) -> tuple[Iterator[Organisation], Iterator[Asset]]:
    """Lazily read the organisations and the assets written by :func:`write_sample`."""
    folder = Path(path)
    for name in (ORGANISATIONS_FILE, ASSETS_FILE):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"sample file {folder / name} is missing; run `geo-assets sample generate` "
                "or geo_assets.sample.write_sample()"
            )
    orgs = (Organisation.model_validate(r) for r in _read_lines(folder / ORGANISATIONS_FILE))
    assets = (Asset.model_validate(r) for r in _read_lines(folder / ASSETS_FILE))
    return orgs, assets


def load_sample(store: Store, path: Path | str = SAMPLE_DIR) -> tuple[int, UpsertReport]:
    """Load the sample into ``store``; returns (organisations created, asset upsert report).

    Safe to run again: existing organisations are left alone and assets are updated in place.
    The geocoder's synthetic demo postcodes and places (``data/geocode/``) are loaded too.
    """
    from geo_assets.ingest.gazetteer import load_geocode_sample

    orgs, assets = read_sample(path)
    created = 0
    for org in orgs:
        try:
            store.get_organisation(org.id)
        except NotFoundError:
            store.create_organisation(org)
            created += 1
    report = store.bulk_upsert(list(assets))
    load_geocode_sample(store)
    return created, report
