#!/usr/bin/env bash
# Fetch the browser files our pages need (Leaflet, jQuery, Bootstrap, icon fonts, Leaflet
# plugins, Swagger UI for the API docs at /docs, and axe-core for the browser tests) with
# `npm ci` from maps/static-src/, and copy
# the parts the pages load into the static cache that the service serves under /static/.
#
# The cache is .cache/static/ at the repo root unless GEO_ASSETS_STATIC_DIR says otherwise.
# npm runs only when the cache is missing or maps/static-src/ (or this script) changed since
# the last copy, so a second run returns at once. Needs node and npm (Debian's `npm`; it is
# installed with apt-get when missing, like scripts/ensure_postgis.sh does for PostGIS).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/maps/static-src"
CACHE="${GEO_ASSETS_STATIC_DIR:-$ROOT/.cache/static}"
WORK="$ROOT/.cache/npm"
STAMP="$CACHE/.geo-assets-assets"

say() { echo "ensure_assets: $*" >&2; }

# package directory (or file) under node_modules -> the same path under the cache
COPY=(
    leaflet/dist
    jquery/dist
    bootstrap/dist
    leaflet.awesome-markers/dist
    @fortawesome/fontawesome-free/css
    @fortawesome/fontawesome-free/webfonts
    leaflet.markercluster/dist
    leaflet.featuregroup.subgroup/dist
    swagger-ui-dist/swagger-ui-bundle.js
    swagger-ui-dist/swagger-ui.css
    axe-core/axe.min.js
)

want="$(cat "$SRC/package.json" "$SRC/package-lock.json" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want" == "$have" ]]; then
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        say "npm is needed to fetch the map assets; install Node.js with npm, or set GEO_ASSETS_MAP_ASSETS=cdn"
        exit 1
    fi
    SUDO=()
    if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    fi
    say "installing npm (apt-get)"
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

say "fetching map assets with npm into $CACHE"
mkdir -p "$WORK"
cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/.npmrc" "$WORK/"
(cd "$WORK" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)

# Build the new cache beside the old one and swap, so a failed run leaves no half cache.
NEXT="$CACHE.next.$$"
rm -rf "$NEXT"
mkdir -p "$NEXT"
for item in "${COPY[@]}"; do
    from="$WORK/node_modules/$item"
    if [[ ! -e "$from" ]]; then
        say "npm did not install $item; check maps/static-src/package.json" >&2
        rm -rf "$NEXT"
        exit 1
    fi
    mkdir -p "$NEXT/$(dirname "$item")"
    cp -R "$from" "$NEXT/$item"
    # Keep each package's licence beside its files.
    package="${item%/*}"
    for licence in "$WORK/node_modules/$package"/*LICEN[CS]E*; do
        [[ -f "$licence" ]] && cp "$licence" "$NEXT/$package/"
    done
done
echo "$want" >"$NEXT/.geo-assets-assets"
rm -rf "$CACHE"
mkdir -p "$(dirname "$CACHE")"
mv "$NEXT" "$CACHE"
say "map assets ready in $CACHE"
