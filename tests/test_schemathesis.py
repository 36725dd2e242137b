"""Property-based run over the app's own OpenAPI document (schemathesis).

Every operation gets up to ``MAX_EXAMPLES`` generated requests (valid ones and, where
schemathesis can make them, invalid ones) against the sample data in SQLite, sent with
an admin token so the write operations are exercised past the auth check. Each response
must not be a 5xx and must match what the document says: its status is documented, its
content type and body match that status's schema. Hypothesis is derandomised and keeps no
example database, so every run sends the same requests.

Rate limiting is off here (hundreds of writes come from one token); its own tests are in
``test_limits.py``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
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
_APP = create_app(Settings(database_url=_DB_URL, rate_limit_per_minute=0))
schema = schemathesis.openapi.from_dict(_APP.openapi())
schema.app = _APP


@pytest.fixture(scope="module")
def admin_token() -> Iterator[str]:
    """Fill the database with the sample data and an admin; yield the admin's token."""
    store = open_store(_DB_URL)
    try:
        store.upgrade()
        load_sample(store)
        admin = store.create_user(User(name="Schemathesis admin", role="admin"))
        token = issue_token(store, admin.id)
    finally:
        store.close()
    yield token
    asgi.shutdown_lifespans()  # closes the app's store
    shutil.rmtree(_DB_DIR, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi(case: schemathesis.Case, admin_token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)
