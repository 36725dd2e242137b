#!/usr/bin/env bash
# The whole test suite, PostGIS tests included: set up .venv, make sure a
# PostgreSQL with PostGIS answers (unless GEO_ASSETS_TEST_DATABASE_URL points at
# one), then run pytest. Extra arguments go to pytest (e.g. -m 'not slow').
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/ensure_venv.sh
bash scripts/ensure_postgis.sh
exec .venv/bin/python -m pytest "$@"
