#!/usr/bin/env bash
# Make a PostgreSQL server with PostGIS available to the test suite; safe to run again.
#
# Run by the README test command before pytest. It prints one line per action taken.
#   - GEO_ASSETS_TEST_DATABASE_URL set: that server is used as it is; nothing to do.
#   - PostGIS extension files missing: install Debian's postgresql-<ver>-postgis-3,
#     <ver> being the installed server's major version (15 when there is none).
#   - Nothing answering on 127.0.0.1:5432: start the local Debian cluster <ver>/main.
#     With no cluster at all, tests/conftest.py starts a private server (pytest-postgresql).
#   - A cluster this run installed is set to let role `postgres` log in from 127.0.0.1
#     without a password (the tests' default URL); existing set-ups are never changed.
set -euo pipefail

say() { echo "ensure_postgis: $*"; }

if [[ -n "${GEO_ASSETS_TEST_DATABASE_URL:-}" ]]; then
    say "GEO_ASSETS_TEST_DATABASE_URL is set; using that server"
    exit 0
fi

HOST=127.0.0.1
PORT=5432
ROOT=${ENSURE_POSTGIS_ROOT:-}  # a fake filesystem root, for testing this script

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    fi
fi

server_version() {
    # Major version of the newest installed server, or nothing.
    local dir
    for dir in "$ROOT"/usr/lib/postgresql/*/bin/postgres; do
        if [[ -x $dir ]]; then basename "$(dirname "$(dirname "$dir")")"; fi
    done | sort -n | tail -n 1
}

has_postgis() {
    compgen -G "$ROOT/usr/share/postgresql/*/extension/postgis.control" >/dev/null
}

answers() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$HOST" -p "$PORT" -t 3
    else
        (exec 3<>"/dev/tcp/${HOST}/${PORT}") 2>/dev/null
    fi
}

installed_now=0
VER=$(server_version)
if ! has_postgis; then
    VER=${VER:-15}
    if ! command -v apt-get >/dev/null 2>&1; then
        say "PostGIS is missing and apt-get is not available; install PostGIS for PostgreSQL ${VER}" >&2
        exit 1
    fi
    say "installing postgresql-${VER}-postgis-3 (apt-get)"
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "postgresql-${VER}-postgis-3" >/dev/null
    installed_now=1
    VER=$(server_version)
fi

has_cluster() {
    [[ -n $VER ]] && command -v pg_lsclusters >/dev/null 2>&1 \
        && pg_lsclusters -h 2>/dev/null | awk -v v="$VER" '$1 == v && $2 == "main" {f = 1} END {exit !f}'
}

if [[ $installed_now -eq 1 ]] && has_cluster; then
    hba="$ROOT/etc/postgresql/${VER}/main/pg_hba.conf"
    line="host all postgres ${HOST}/32 trust  # geo-assets tests (scripts/ensure_postgis.sh)"
    if [[ -f $hba ]] && ! grep -qF "$line" "$hba"; then
        say "letting role postgres log in from ${HOST} without a password (${hba})"
        { echo "$line"; cat "$hba"; } | "${SUDO[@]}" tee "${hba}.new" >/dev/null
        "${SUDO[@]}" mv "${hba}.new" "$hba"
        if answers; then
            say "reloading PostgreSQL cluster ${VER}/main"
            "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$VER" main reload
        fi
    fi
fi

if answers; then
    exit 0
fi

if has_cluster; then
    say "starting PostgreSQL cluster ${VER}/main"
    "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$VER" main start
    for _ in $(seq 1 30); do
        answers && exit 0
        sleep 1
    done
    say "cluster ${VER}/main started but ${HOST}:${PORT} does not answer" >&2
    exit 1
fi

say "no server on ${HOST}:${PORT} and no local cluster; the tests will start a private one"
