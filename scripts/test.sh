#!/usr/bin/env bash
# The whole test suite, PostGIS and browser tests included: set up .venv, make sure a
# PostgreSQL with PostGIS answers (unless GEO_ASSETS_TEST_DATABASE_URL points at
# one), fetch the map assets and Chromium, then run pytest. Extra arguments go to
# pytest (e.g. -m 'not slow'). Tests run on one worker process per core (pytest-xdist);
# GEO_ASSETS_TEST_WORKERS=0 runs them in this process, one after another.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/ensure_venv.sh
bash scripts/ensure_postgis.sh
bash scripts/ensure_assets.sh    # Leaflet & co. for the map pages (npm, cached)
bash scripts/ensure_chromium.sh  # Debian chromium for the browser tests
exec .venv/bin/python -m pytest -n "${GEO_ASSETS_TEST_WORKERS:-auto}" "$@"
