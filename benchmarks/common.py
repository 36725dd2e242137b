"""What every benchmark shares: a throwaway PostGIS database, origin sets, percentiles.

Benchmarks use the national data of DESIGN section 11 (geo_assets.synthetic).
Set GEO_ASSETS_BENCH_DATABASE_URL (or GEO_ASSETS_TEST_DATABASE_URL) to a server
URL whose user may create databases; the default is the local server.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice

import numpy as np
import psycopg

from geo_assets import synthetic
from geo_assets.model import Asset
from geo_assets.store import open_store
from geo_assets.store.base import degree_box
from geo_assets.store.documents import decode
from tests.postgis_harness import throwaway_database

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
EARTH_M_PER_DEG_LAT = 111_195.0


def server_url() -> str:
    return (
        os.environ.get("GEO_ASSETS_BENCH_DATABASE_URL")
        or os.environ.get("GEO_ASSETS_TEST_DATABASE_URL")
        or DEFAULT_SERVER_URL
    )


@contextmanager
def throwaway_postgis(name_prefix: str = "geo_assets_bench") -> Iterator[str]:
    """A new database with PostGIS on the benchmark server, dropped afterwards."""
    with throwaway_database(server_url(), name_prefix) as (url, _name):
        yield url


def jittered(
    centre: tuple[float, float], n: int, spread_m: float, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """``n`` (lat, lon) points with a Gaussian spread of ``spread_m`` metres around ``centre``."""
    lat0, lon0 = centre
    dlat = rng.normal(0.0, spread_m, n) / EARTH_M_PER_DEG_LAT
    dlon = rng.normal(0.0, spread_m, n) / (EARTH_M_PER_DEG_LAT * np.cos(np.radians(lat0)))
    return [(float(lat0 + a), float(lon0 + b)) for a, b in zip(dlat, dlon, strict=True)]


def origin_sets(n: int, seed: int = 7) -> dict[str, list[tuple[float, float]]]:
    """The two origin sets every benchmark reports: random towns and the densest town's centre."""
    rng = np.random.default_rng(seed)
    towns = synthetic.national_towns()
    picks = rng.integers(0, len(towns), n)
    random_towns = [jittered((towns[i].lat, towns[i].lon), 1, 1_000.0, rng)[0] for i in picks]
    densest = synthetic.densest_town()
    return {
        "random towns": random_towns,
        "densest centre": jittered((densest.lat, densest.lon), n, 200.0, rng),
    }


def timed_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def timed_in_turn(fns: Sequence[Callable[[], object]], turn: int) -> list[float]:
    """Milliseconds for each of ``fns`` at one origin, in their order; which one runs
    first goes round with ``turn``.

    Whichever runs first for a fresh origin reads that area's pages into the database's
    and the OS's caches, and the ones after find them there: on a 100,000-listing
    table (larger than PostgreSQL's default shared_buffers) always running ours first
    put about 0.1 ms on each 1 km query, a ratio of 1.7-1.9 against 1.1 the other way
    round. Going round gives each the same share of cold starts.
    """
    ms = [0.0] * len(fns)
    for step in range(len(fns)):
        i = (turn + step) % len(fns)
        ms[i] = timed_ms(fns[i])
    return ms


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    arr = np.asarray(samples_ms)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


def load_national(url: str, n: int) -> float:
    """Bring the store at ``url`` up to date and load ``n`` national assets (on PostGIS,
    VACUUM ANALYZE them too); returns the seconds spent generating and loading."""
    store = open_store(url, min_size=1, max_size=2)
    store.upgrade()
    start = time.perf_counter()
    assets = synthetic.national_assets(n)
    while chunk := list(islice(assets, 100_000)):
        store.bulk_upsert(chunk)
    elapsed = time.perf_counter() - start
    store.close()
    if url.startswith("postgresql"):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE assets")
    return elapsed


def sqlite_circle(lat: float, lon: float, radius_m: float) -> dict[str, float]:
    """Named parameters for a bare SQLite circle query: the R*Tree box (:west, :east,
    :south, :north) and an equirectangular test ``d2 <= :r2`` with
    ``d2 = (lat - :lat)^2 + (lon - :lon)^2 * :k``, what a hand-written query would use
    (SQLite has no geodesic function)."""
    ((west, south, east, north),) = degree_box(lat, lon, radius_m)
    r_deg = radius_m / EARTH_M_PER_DEG_LAT
    return {
        "lat": lat,
        "lon": lon,
        "k": math.cos(math.radians(lat)) ** 2,
        "west": west,
        "east": east,
        "south": south,
        "north": north,
        "r2": r_deg * r_deg,
    }


def machine_speed(url: str | None = None) -> str:
    """One line on how fast this machine is, printed beside the figures.

    The machines these benchmarks run on have differed up to threefold in speed, which
    moves every absolute figure (ratios to a baseline in the same run much less). This
    times two fixed pieces of work: decoding one national listing with the stores'
    decoder (Python), and counting a million generated rows (the PostgreSQL at ``url``).
    """
    doc = next(synthetic.national_assets(1)).model_dump_json()
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(2_000):
            decode(Asset, doc)
        rounds.append((time.perf_counter() - start) / 2_000 * 1e6)
    with psycopg.connect(url or server_url(), autocommit=True) as conn:
        count = "SELECT count(*) FROM generate_series(1, 1000000)"
        server_ms = min(timed_ms(lambda: conn.execute(count).fetchone()) for _ in range(5))
    return (
        f"machine: decoding a {len(doc):,}-byte listing {min(rounds):.1f} us;"
        f" PostgreSQL counting 1,000,000 generated rows {server_ms:.1f} ms"
    )
