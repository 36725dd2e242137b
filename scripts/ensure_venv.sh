#!/usr/bin/env bash
# Make sure .venv/ at the repo root exists (Python >= 3.11) and holds this project
# with its test extras. pip runs only when pyproject.toml (or the Python) changed
# since the last install, so the second run of any command starts at once.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.geo-assets-installed"

new_enough() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

pick_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 && new_enough "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if [ -e "$VENV" ] && ! new_enough "$VENV/bin/python"; then
    echo "ensure_venv: $VENV is broken or older than Python 3.11; recreating it" >&2
    rm -rf "$VENV"
fi

if [ ! -x "$VENV/bin/python" ]; then
    if ! PY="$(pick_python)"; then
        echo "ensure_venv: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
        exit 1
    fi
    echo "ensure_venv: creating $VENV with $PY" >&2
    "$PY" -m venv "$VENV"
fi

want="$(cat "$ROOT/pyproject.toml" <("$VENV/bin/python" -VV) | sha256sum | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
    echo "ensure_venv: installing geo-assets and its dependencies into $VENV" >&2
    (cd "$ROOT" && "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -e '.[test]')
    echo "$want" >"$STAMP"
fi
