"""API load benchmark (issue 4): uvicorn + PostGIS with national data, many clients at once.

Loads 100,000 national assets (DESIGN section 11) into a throwaway PostGIS database,
starts ``uvicorn api.app:create_app`` on a loopback port in a subprocess, then runs an
asyncio + httpx load generator in this process (no locust: one client library, no gevent,
and the generator's own cost stays small next to the server's on two cores):

- ``--match-clients`` (50) practitioners posting profiles (top 20) to ``POST /match``,
  with origins in random towns (typical), at the densest town's centre (worst case) or
  half and half (``--origins``);
- ``--write-clients`` (5) admins alternately creating an asset (``POST /assets``) and
  renaming one they created (``PATCH /assets/{id}``).

Each client waits a random think time between requests, as locust users do
(``--think-s 1-2``: uniform between 1 and 2 s; ``0-0`` gives closed-loop clients, which
measure the saturation throughput instead). Every combination of ``--workers``,
``--origins`` and ``--think-s`` runs for ``--duration-s`` seconds after a short warm-up on
one loaded database, and prints requests/s, p50/p95/p99 and error counts per endpoint.
Targets: 0 errors, p99 <= 300 ms. Rate limiting stays on, with a limit no client reaches,
so its cost counts.

    .venv/bin/python -m benchmarks.bench_api_load [--assets 100000] [--workers 1 2] \
        [--origins random mixed] [--think-s 1-2 4-8 0-0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from benchmarks.bench_match import load_national, make_profiles
from benchmarks.common import origin_sets, throwaway_postgis
from geo_assets import synthetic
from geo_assets.auth import User, issue_token
from geo_assets.store import open_store

STARTUP_TIMEOUT_S = 60.0
WARM_UP_S = 5.0
REQUEST_TIMEOUT_S = 30.0
P99_TARGET_MS = 300.0
# Far above what any client here sends, so the limiter runs but never refuses.
RATE_LIMIT_PER_MINUTE = 10_000_000
MATCH_LIMIT = 20  # results per match, as in the match benchmark
KEEPALIVE_EXPIRY_S = 2.0  # below uvicorn's --timeout-keep-alive (5 s)


@dataclass
class Tally:
    """Latencies (ms) and outcomes of one endpoint during the measured window."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, started_s: float, outcome: str | None) -> None:
        self.latencies_ms.append((time.perf_counter() - started_s) * 1000.0)
        if outcome is not None:
            self.errors[outcome] += 1


@dataclass
class Run:
    """Shared state of one load run: when measuring starts and stops, and the tallies."""

    measure_from_s: float
    stop_at_s: float
    think_s: tuple[float, float]
    tallies: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))

    def measuring(self, started_s: float) -> bool:
        return self.measure_from_s <= started_s < self.stop_at_s

    async def think(self, rng: random.Random) -> None:
        low, high = self.think_s
        if high > 0:
            await asyncio.sleep(rng.uniform(low, high))


def _outcome(response: httpx.Response | None, error: BaseException | None) -> str | None:
    if error is not None:
        return type(error).__name__
    assert response is not None
    return None if response.is_success else str(response.status_code)


async def _timed(run: Run, name: str, call: Any) -> httpx.Response | None:
    started = time.perf_counter()
    response: httpx.Response | None = None
    error: BaseException | None = None
    try:
        response = await call
    except httpx.HTTPError as exc:
        error = exc
    if run.measuring(started):
        run.tallies[name].add(started, _outcome(response, error))
    return response


async def match_client(
    run: Run, client: httpx.AsyncClient, token: str, profiles: list[dict], seed: int
) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    while time.perf_counter() < run.stop_at_s:
        profile = profiles[rng.randrange(len(profiles))]
        await _timed(run, "POST /match", client.post("/match", json=profile, headers=headers))
        await run.think(rng)


async def write_client(run: Run, client: httpx.AsyncClient, token: str, seed: int) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    towns = synthetic.national_towns()
    created: list[str] = []
    i = 0
    while time.perf_counter() < run.stop_at_s:
        i += 1
        if not created or i % 2:
            town = towns[rng.randrange(len(towns))]
            body = {
                "kind": "group",
                "name": f"Load test group {seed}-{i}",
                "description": "Made by the API load benchmark.",
                "categories": ["social"],
                "location": {
                    "lat": town.lat + rng.uniform(-0.02, 0.02),
                    "lon": town.lon + rng.uniform(-0.02, 0.02),
                },
                "status": "published",
            }
            response = await _timed(
                run, "POST /assets", client.post("/assets", json=body, headers=headers)
            )
            if response is not None and response.is_success:
                created.append(_asset_id(response.json()))
        else:
            asset_id = created[rng.randrange(len(created))]
            changes = {"name": f"Load test group {seed}-{i} (renamed)"}
            await _timed(
                run,
                "PATCH /assets/{id}",
                client.patch(f"/assets/{asset_id}", json=changes, headers=headers),
            )
        await run.think(rng)


def _asset_id(body: dict[str, Any]) -> str:
    """The id of a created asset, as a plain document or a GeoJSON Feature."""
    return str(body["id"])


async def run_load(
    base_url: str,
    tokens: Tokens,
    profiles: list[dict],
    *,
    match_clients: int,
    write_clients: int,
    duration_s: float,
    think_s: tuple[float, float],
) -> Run:
    now = time.perf_counter()
    run = Run(
        measure_from_s=now + WARM_UP_S, stop_at_s=now + WARM_UP_S + duration_s, think_s=think_s
    )
    # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them, so a
    # request never races the server's close of a connection it is about to reuse.
    limits = httpx.Limits(
        max_connections=match_clients + write_clients + 5, keepalive_expiry=KEEPALIVE_EXPIRY_S
    )
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client:
        tasks = [
            match_client(run, client, tokens.practitioners[i], profiles, seed=i)
            for i in range(match_clients)
        ]
        tasks += [
            write_client(run, client, tokens.admins[i], seed=1000 + i) for i in range(write_clients)
        ]
        await asyncio.gather(*tasks)
    return run


# --- the server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(url: str, workers: int, pool_max_size: int) -> Iterator[str]:
    """uvicorn with ``workers`` processes on a loopback port; its log goes to a temp file."""
    port = _free_port()
    env = dict(
        os.environ,
        GEO_ASSETS_DATABASE_URL=url,
        GEO_ASSETS_POOL_MAX_SIZE=str(pool_max_size),
        GEO_ASSETS_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT_PER_MINUTE),
    )
    command = [
        sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base_url, process)
            yield base_url
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            log.seek(0)
            tail = log.read()[-3000:].decode("utf-8", "replace").strip()
            if tail:
                print(f"    server log (tail):\n{tail}")


def _wait_ready(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode} during startup")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("uvicorn did not become ready in time")


@dataclass(frozen=True)
class Tokens:
    practitioners: list[str]
    admins: list[str]


def make_tokens(url: str, practitioners: int, admins: int) -> Tokens:
    """One bearer token per client, as each person has their own (so the server's cache of
    verified tokens and the per-token rate limit behave as in use), made through the store
    as ``geo-assets users add`` does."""
    store = open_store(url, min_size=1, max_size=1)

    def token(name: str, role: str) -> str:
        user = store.create_user(User(name=name, role=role))  # type: ignore[arg-type]
        return issue_token(store, user.id)

    try:
        return Tokens(
            practitioners=[
                token(f"Load practitioner {i}", "practitioner") for i in range(practitioners)
            ],
            admins=[token(f"Load admin {i}", "admin") for i in range(admins)],
        )
    finally:
        store.close()


ORIGIN_CHOICES = {
    "random": ("random towns",),
    "densest": ("densest centre",),
    "mixed": ("random towns", "densest centre"),
}


def profile_bodies(n: int, origins: str) -> list[dict]:
    """``n`` profiles per origin set named by ``origins`` (see ``ORIGIN_CHOICES``)."""
    sets = origin_sets(n)
    out: list[dict] = []
    for name in ORIGIN_CHOICES[origins]:
        out.extend(
            {**p.model_dump(mode="json"), "limit": MATCH_LIMIT}
            for p in make_profiles(n, sets[name])
        )
    return out


def _think_range(text: str) -> tuple[float, float]:
    low, sep, high = text.partition("-")
    if not sep or float(low) < 0 or float(high) < float(low):
        raise argparse.ArgumentTypeError(f"think time must be MIN-MAX seconds, not {text!r}")
    return float(low), float(high)


# --- report -----------------------------------------------------------------------------------


def report(run: Run, duration_s: float, label: str) -> bool:
    """Print one line per endpoint and a total, and whether the targets are met."""
    print(f"\n  {label}")
    print(
        f"    {'endpoint':<20}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'max ms':>9}  errors"
    )
    everything = Tally()
    for name in sorted(run.tallies):
        tally = run.tallies[name]
        everything.latencies_ms += tally.latencies_ms
        everything.errors.update(tally.errors)
        _line(name, tally, duration_s)
    _line("all", everything, duration_s)
    p99 = float(np.percentile(everything.latencies_ms, 99)) if everything.latencies_ms else 0.0
    errors = sum(everything.errors.values())
    met = errors == 0 and p99 <= P99_TARGET_MS and bool(everything.latencies_ms)
    verdict = "met" if met else "NOT met"
    print(f"    targets (0 errors, p99 <= {P99_TARGET_MS:.0f} ms): {verdict}")
    return met


def _line(name: str, tally: Tally, duration_s: float) -> None:
    n = len(tally.latencies_ms)
    if n == 0:
        print(f"    {name:<20}{0:>9}")
        return
    p50, p95, p99 = np.percentile(tally.latencies_ms, [50, 95, 99])
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(tally.errors.items())) or "0"
    print(
        f"    {name:<20}{n:>9}{n / duration_s:>8.1f}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}"
        f"{max(tally.latencies_ms):>9.1f}  {errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--origins", nargs="+", choices=ORIGIN_CHOICES, default=["mixed"])
    parser.add_argument("--think-s", type=_think_range, nargs="+", default=[(1.0, 2.0)])
    parser.add_argument("--match-clients", type=int, default=50)
    parser.add_argument("--write-clients", type=int, default=5)
    parser.add_argument("--duration-s", type=float, default=60.0)
    parser.add_argument("--profiles", type=int, default=50, help="per origin set")
    parser.add_argument("--pool-max-size", type=int, default=10, help="per worker")
    args = parser.parse_args()

    print(
        f"API load benchmark: {args.match_clients} clients on POST /match (top {MATCH_LIMIT}) + "
        f"{args.write_clients} writing (POST/PATCH /assets), {args.duration_s:.0f} s per "
        f"scenario after {WARM_UP_S:.0f} s warm-up, {os.cpu_count()} CPUs, loopback",
        flush=True,
    )
    with throwaway_postgis("geo_assets_load") as url:
        seconds = load_national(url, args.assets)
        print(f"  loaded {args.assets:,} assets in {seconds:.0f} s", flush=True)
        tokens = make_tokens(url, args.match_clients, args.write_clients)
        for workers in args.workers:
            with serve(url, workers, args.pool_max_size) as base_url:
                for origins in args.origins:
                    profiles = profile_bodies(args.profiles, origins)
                    for think_s in args.think_s:
                        run = asyncio.run(
                            run_load(
                                base_url,
                                tokens,
                                profiles,
                                match_clients=args.match_clients,
                                write_clients=args.write_clients,
                                duration_s=args.duration_s,
                                think_s=think_s,
                            )
                        )
                        think = f"think {think_s[0]:g}-{think_s[1]:g} s"
                        if think_s[1] == 0:
                            think = "closed loop (no think time)"
                        label = (
                            f"uvicorn --workers {workers}, {args.assets:,} assets, "
                            f"origins {origins}, {think}"
                        )
                        report(run, args.duration_s, label)


if __name__ == "__main__":
    main()
