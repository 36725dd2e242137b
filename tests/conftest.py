"""Shared fixtures: a throwaway PostGIS database and both stores.

PostGIS: ``GEO_ASSETS_TEST_DATABASE_URL`` (a server URL whose user may create
databases) when set, else the server on 127.0.0.1:5432 as user ``postgres``;
when neither answers, pytest-postgresql starts a private server. Every test
session gets its own database with ``CREATE EXTENSION postgis``, dropped at the end.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from postgis_harness import empty_database, throwaway_database
from pytest_postgresql import factories

from geo_assets.sample import load_sample
from geo_assets.store import Store, open_store

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

postgresql_private_proc = factories.postgresql_proc(port=None)


def _server_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgis_server_url(request: pytest.FixtureRequest) -> str:
    """URL of a PostgreSQL server (maintenance db) the tests may create databases on."""
    url = os.environ.get("GEO_ASSETS_TEST_DATABASE_URL") or DEFAULT_SERVER_URL
    if _server_answers(url):
        return url
    if os.environ.get("GEO_ASSETS_TEST_DATABASE_URL"):
        pytest.fail("GEO_ASSETS_TEST_DATABASE_URL is set but no server answers there")
    proc = request.getfixturevalue("postgresql_private_proc")
    return f"postgresql://{proc.user}@{proc.host}:{proc.port}/postgres"


@pytest.fixture(scope="session")
def postgis_db_url(postgis_server_url: str) -> Iterator[str]:
    """A fresh database with PostGIS, for this test session only."""
    with throwaway_database(postgis_server_url, "geo_assets_test") as (url, _name):
        yield url


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'test.sqlite'}")
    store.upgrade()
    yield store
    store.close()


@pytest.fixture
def postgis_store(postgis_db_url: str) -> Iterator[Store]:
    store = open_store(postgis_db_url, min_size=1, max_size=4)
    store.upgrade()
    empty_database(postgis_db_url)
    yield store
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def store(request: pytest.FixtureRequest) -> Store:
    """Each contract test runs once per store implementation."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture(scope="session")
def sample_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], str]:
    """Makes stores holding the sample data: ``sample_sqlite(folder)`` is the URL of a new
    SQLite file in ``folder``, up to date and loaded. The data is loaded once per worker
    process (seconds) and copied for each store (milliseconds), by SQLite's backup, so
    what the first file's write-ahead log holds comes too."""
    template = tmp_path_factory.mktemp("sample") / "sample.sqlite"
    store = open_store(f"sqlite:///{template}")
    try:
        store.upgrade()
        load_sample(store)
    finally:
        store.close()

    def copy(folder: Path) -> str:
        path = folder / "sample.sqlite"
        with closing(sqlite3.connect(template)) as src, closing(sqlite3.connect(path)) as dst:
            src.backup(dst)
        return f"sqlite:///{path}"

    return copy
