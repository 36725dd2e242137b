"""A throwaway database on a PostgreSQL server: the one recipe the tests and the
benchmarks share (pytest-postgresql's janitor creates it and drops it afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from pytest_postgresql.janitor import DatabaseJanitor


@contextmanager
def throwaway_database(server_url: str, name_prefix: str) -> Iterator[tuple[str, str]]:
    """``(url, name)`` of a new database with PostGIS on the server at ``server_url`` (a URL
    whose user may create databases), named ``<name_prefix>_<random>``; dropped on exit."""
    parts = urlsplit(server_url)
    name = f"{name_prefix}_{uuid.uuid4().hex[:10]}"
    janitor = DatabaseJanitor(
        user=parts.username or "postgres",
        password=parts.password,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        dbname=name,
        maintenance_dbname=parts.path.lstrip("/") or "postgres",
    )
    janitor.init()
    url = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        yield url, name
    finally:
        janitor.drop()


def empty_database(url: str) -> None:
    """Remove every row from the test database at ``url`` (its schema and migrations
    stay): each test starts from an empty store without paying for a fresh database."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename NOT IN ('spatial_ref_sys', 'schema_migrations')"
        ).fetchall()
        if tables:
            conn.execute("TRUNCATE " + ", ".join(f'"{t[0]}"' for t in tables) + " CASCADE")
