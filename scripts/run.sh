#!/usr/bin/env bash
# The main job: set up .venv, prepare the store (embedded SQLite file
# ./geo_assets.sqlite unless GEO_ASSETS_DATABASE_URL says otherwise), load the
# sample data and serve http://127.0.0.1:8000 until Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/ensure_venv.sh
bash scripts/ensure_assets.sh || echo "run: map pages need the files above; the API works without them" >&2
.venv/bin/geo-assets db upgrade
.venv/bin/geo-assets sample load
echo "serving on http://127.0.0.1:8000: pages at /map, API docs at /docs; to sign in to the" >&2
echo "other pages make a user: .venv/bin/geo-assets users add \"Your Name\" --role admin. Ctrl-C stops it" >&2
exec .venv/bin/geo-assets serve --host 127.0.0.1 --port 8000
