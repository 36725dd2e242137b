"""HSDS import benchmark (issue 5): 100,000 Open Referral services into PostGIS.

The national data (DESIGN section 11) is written as an HSDS 3.0 JSON list of services by
our own exporter (geo_assets.ingest.hsds.hsds_service), then imported end to end: read the
file, map and validate every service (:func:`parse_hsds`), and load it with
:func:`run_import` into a throwaway PostGIS database. In the same run, the rows that import
stored are put back into the emptied ``assets`` table with a bare ``COPY`` (no Python, no
validation, no merge: the ceiling here). Prints records/s for both and their ratio.

    .venv/bin/python -m benchmarks.bench_import_hsds [--services 100000]

Targets: import >= 5,000 records/s; ratio (COPY rate / import rate) <= 4.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import psycopg

from benchmarks.common import throwaway_postgis
from geo_assets import synthetic
from geo_assets.ingest.base import run_import
from geo_assets.ingest.hsds import hsds_service, parse_hsds
from geo_assets.store import open_store
from geo_assets.store.base import paused_gc

TARGET_RECORDS_PER_S = 5_000
TARGET_RATIO = 4.0


def write_feed(path: Path, n: int) -> int:
    """Write ``n`` national assets as a JSON list of HSDS services; returns bytes written."""
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        for i, asset in enumerate(synthetic.national_assets(n)):
            out.write(",\n" if i else "\n")
            out.write(json.dumps(hsds_service(asset, None), ensure_ascii=False))
        out.write("\n]\n")
    return path.stat().st_size


def raw_copy_seconds(url: str) -> tuple[int, float]:
    """(rows, seconds) of a bare COPY of the imported rows back into the emptied table."""
    with psycopg.connect(url, autocommit=True) as conn:
        buf = bytearray()
        with conn.cursor().copy("COPY assets TO STDOUT") as out:
            for block in out:
                buf += block
        n = conn.execute("SELECT count(*) FROM assets").fetchone()[0]  # type: ignore[index]
        conn.execute("TRUNCATE assets")
        start = time.perf_counter()
        with conn.transaction(), conn.cursor().copy("COPY assets FROM STDIN") as copy:
            copy.write(bytes(buf))
        return n, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100_000)
    args = parser.parse_args()
    n = args.services

    with tempfile.TemporaryDirectory() as tmp, throwaway_postgis("geo_assets_bench_hsds") as url:
        feed_path = Path(tmp) / "services.json"
        size = write_feed(feed_path, n)
        store = open_store(url, min_size=1, max_size=2)
        store.upgrade()

        # As `geo-assets import` does (ingest.cli_support.import_file): no cyclic GC from
        # reading to loading.
        with paused_gc():
            start = time.perf_counter()
            feed = parse_hsds(feed_path, source="bench-hsds")
            parsed = time.perf_counter()
            report = run_import(store, feed)
            done = time.perf_counter()
        store.close()
        assert report.ok and report.inserted == n, report.summary()

        rows, copy_s = raw_copy_seconds(url)
        assert rows == n

    parse_s, load_s, total_s = parsed - start, done - parsed, done - start
    rate, copy_rate = n / total_s, n / copy_s
    ratio = copy_rate / rate
    print(f"\nHSDS import benchmark: {n:,} services ({size / 1e6:,.0f} MB of JSON) into PostGIS")
    print(f"  read + map + validate (parse_hsds): {parse_s:8.1f} s  {n / parse_s:10,.0f} records/s")
    print(f"  run_import (checks + bulk_upsert):  {load_s:8.1f} s  {n / load_s:10,.0f} records/s")
    print(f"  import end to end:                  {total_s:8.1f} s  {rate:10,.0f} records/s")
    print(f"  bare COPY into assets (same rows):  {copy_s:8.1f} s  {copy_rate:10,.0f} records/s")
    print(f"  ratio COPY / import: {ratio:.2f}")
    print(
        f"\nTargets: >= {TARGET_RECORDS_PER_S:,} records/s "
        f"({'met' if rate >= TARGET_RECORDS_PER_S else 'missed'}); "
        f"ratio <= {TARGET_RATIO:g} ({'met' if ratio <= TARGET_RATIO else 'missed'})"
    )


if __name__ == "__main__":
    main()
