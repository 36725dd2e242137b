"""Store outage: PostgreSQL goes away mid-run and comes back; the service answers 503 problems
meanwhile, recovers without a restart, and loses no write it acknowledged.

The outage is made on a database of this test's own: new connections are refused
(``ALTER DATABASE ... ALLOW_CONNECTIONS false``) and every open one is killed
(``pg_terminate_backend``), which is what a server restart looks like to the pool.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest

from api.app import create_app
from geo_assets.auth import User, issue_token
from geo_assets.settings import Settings
from geo_assets.store import Store, open_store
from tests.factories import LEEDS, make_asset
from tests.postgis_harness import throwaway_database

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.postgis

PROBLEM = "application/problem+json"
TIMEOUT_S = 1.0  # database_timeout_s: how long a request waits for a connection
OUTAGE_S = 4.0
RECOVERY_BUDGET_S = 10.0  # the service must answer again within this after the database returns
NEAR = {"near": f"{LEEDS[0]},{LEEDS[1]}", "radius_m": 5_000, "limit": 1_000, "format": "json"}


@dataclass
class Database:
    url: str
    name: str
    admin_url: str  # the maintenance database on the same server

    def _admin(self, sql: str, params: list[object] | None = None) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql, params)

    def go_down(self) -> None:
        """Refuse new connections, then kill every open one (as a restart would)."""
        ident = psycopg.sql.Identifier(self.name)
        self._admin(
            psycopg.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(ident).as_string()
        )
        self._admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [self.name],
        )

    def come_back(self) -> None:
        ident = psycopg.sql.Identifier(self.name)
        self._admin(
            psycopg.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(ident).as_string()
        )


@pytest.fixture
def database(postgis_server_url: str) -> Iterator[Database]:
    """A throwaway PostGIS database that only this test takes down."""
    with throwaway_database(postgis_server_url, "geo_assets_outage") as (url, name):
        db = Database(url, name, postgis_server_url)
        try:
            store = open_store(db.url)
            try:
                store.upgrade()
            finally:
                store.close()
            yield db
        finally:
            db.come_back()  # the janitor can only drop a database that takes connections


@dataclass
class Writer:
    """An admin creating assets through ``POST /assets`` one after another on a thread,
    noting which writes were acknowledged (201) and which were refused (503)."""

    client: TestClient
    token: str
    acknowledged: list[str] = field(default_factory=list)
    refused: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    unexpected: list[str] = field(default_factory=list)

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        i = 0
        while not self.stop.is_set():
            i += 1
            body = make_asset(name=f"Outage group {i}").model_dump(mode="json", exclude={"id"})
            try:
                response = self.client.post("/assets", json=body, headers=headers)
            except BaseException as exc:  # anything else fails the test
                self.unexpected.append(repr(exc))
                return
            if response.status_code == 201:
                self.acknowledged.append(response.json()["id"])
            elif response.status_code == 503 and response.headers.get("retry-after"):
                self.refused += 1
            else:
                self.unexpected.append(f"{response.status_code}: {response.text}")
                return
            time.sleep(0.02)


def _problem_503(response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["status"] == 503


def test_outage_gives_503_then_recovers_without_losing_acknowledged_writes(
    database: Database,
) -> None:
    settings = Settings(
        database_url=database.url,
        database_timeout_s=TIMEOUT_S,
        pool_min_size=2,
        pool_max_size=4,
        rate_limit_per_minute=0,
        read_rate_limit_per_minute=0,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        store: Store = app.state.store
        admin = store.create_user(User(name="Outage admin", role="admin"))
        # The writer's own client (same app, same store): one client per thread.
        writer = Writer(TestClient(app), issue_token(store, admin.id))
        thread = threading.Thread(target=writer.run, daemon=True)
        thread.start()
        try:
            time.sleep(0.5)
            assert client.get("/assets", params=NEAR).status_code == 200
            before_outage = len(writer.acknowledged)
            assert before_outage > 0

            database.go_down()
            down_at = time.monotonic()
            outage_answers = []
            while time.monotonic() - down_at < OUTAGE_S:
                outage_answers.append(client.get("/assets", params=NEAR))
            refused_during_outage = writer.refused
            assert client.get("/healthz").status_code == 200  # the process itself is fine
            ready = client.get("/readyz")
            _problem_503(ready)

            database.come_back()
            back_at = time.monotonic()
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() - back_at < RECOVERY_BUDGET_S, "no recovery in time"
            recovered_after_s = time.monotonic() - back_at
            acknowledged_at_recovery = len(writer.acknowledged)
            time.sleep(0.5)  # the writer succeeds again
        finally:
            writer.stop.set()
            thread.join(timeout=10)
        assert not writer.unexpected, writer.unexpected

        # Reads during the outage were 503 problems (a first one may have raced the kill).
        failed = [r for r in outage_answers if r.status_code != 200]
        assert failed, "no request saw the outage"
        for response in failed:
            _problem_503(response)
        assert outage_answers[-1].status_code == 503
        assert refused_during_outage > 0
        assert len(writer.acknowledged) > acknowledged_at_recovery  # writes work again
        assert recovered_after_s < RECOVERY_BUDGET_S

        # No acknowledged write is lost: each one is readable afterwards.
        body = client.get("/assets", params=NEAR).json()
        listed = {item["id"] for item in body["items"]}
        assert body["total"] == len(listed)  # all on one page
        missing = [a for a in writer.acknowledged if a not in listed]
        assert not missing, f"{len(missing)} acknowledged writes lost"
        for asset_id in writer.acknowledged[:: max(1, len(writer.acknowledged) // 10)]:
            assert store.get_asset(asset_id).id == asset_id
