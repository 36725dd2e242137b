"""Property-based run over the app's own OpenAPI document (schemathesis), on both stores.

Every operation gets up to ``MAX_EXAMPLES`` generated requests (valid ones and, where
schemathesis can make them, invalid ones) against the sample data, sent with an admin
token so the write operations are exercised past the auth check. Each response must not
be a 5xx and must match what the document says: its status is documented, its content
type and body match that status's schema. Hypothesis is derandomised and keeps no example
database, so every run sends the same requests. The run goes once on SQLite and once on
PostGIS, which refuses input SQLite takes (a NUL character in text was a 500 there only).

Rate limiting is off here (hundreds of writes come from one token); its own tests are in
``test_limits.py``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from postgis_harness import throwaway_database
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from geo_assets.auth import User, issue_token
from geo_assets.sample import load_sample
from geo_assets.settings import Settings
from geo_assets.store import open_store

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# The schema is read at import (schemathesis parametrises at collection); the app opens its
# store only on the first request, after the fixture below has filled the database.
_DB_DIR = Path(tempfile.mkdtemp(prefix="geo_assets_schemathesis_"))
_DB_URL = f"sqlite:///{_DB_DIR / 'sample.sqlite'}"
_APP = create_app(
    Settings(database_url=_DB_URL, rate_limit_per_minute=0, read_rate_limit_per_minute=0)
)
schema = schemathesis.openapi.from_dict(_APP.openapi())
schema.app = _APP


class _AppMadeLater:
    """An ASGI app that hands everything to the one its fixture makes: schemathesis needs
    an app when it collects the tests, the PostGIS database exists only once they run."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


# The same document served from PostGIS.
_POSTGIS_APP = _AppMadeLater()
postgis_schema = schemathesis.openapi.from_dict(_APP.openapi())
postgis_schema.app = _POSTGIS_APP

CONFORMS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def _admin_token_after_filling(url: str) -> str:
    """Fill the store at ``url`` with the sample data and an admin; the admin's token."""
    store = open_store(url)
    try:
        store.upgrade()
        load_sample(store)
        admin = store.create_user(User(name="Schemathesis admin", role="admin"))
        return issue_token(store, admin.id)
    finally:
        store.close()


@pytest.fixture(scope="module")
def admin_token() -> Iterator[str]:
    yield _admin_token_after_filling(_DB_URL)
    asgi.shutdown_lifespans()  # closes the apps' stores
    shutil.rmtree(_DB_DIR, ignore_errors=True)


@pytest.fixture(scope="module")
def postgis_admin_token(postgis_server_url: str) -> Iterator[str]:
    """A database of its own: other tests empty the session's PostGIS database."""
    with throwaway_database(postgis_server_url, "geo_assets_schemathesis") as (url, _name):
        token = _admin_token_after_filling(url)
        _POSTGIS_APP.app = create_app(
            Settings(database_url=url, rate_limit_per_minute=0, read_rate_limit_per_minute=0)
        )
        yield token
        asgi.shutdown_lifespans()  # the app's pool must let go before the database is dropped


@schema.parametrize()
@CONFORMS
def test_api_conforms_to_its_openapi(case: schemathesis.Case, admin_token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)


@pytest.mark.postgis
@postgis_schema.parametrize()
@CONFORMS
def test_api_conforms_to_its_openapi_on_postgis(
    case: schemathesis.Case, postgis_admin_token: str
) -> None:
    headers = {"Authorization": f"Bearer {postgis_admin_token}"}
    case.call_and_validate(headers=headers, checks=CHECKS)
