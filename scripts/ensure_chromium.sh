#!/usr/bin/env bash
# Make Debian's headless-capable `chromium` available to the browser tests; safe to run again.
#
# The browser tests drive it through Playwright with executable_path=/usr/bin/chromium
# (GEO_ASSETS_CHROMIUM overrides the path). Playwright's own browser download
# (`playwright install`) is never used: it fetches from outside the package registries.
set -euo pipefail

say() { echo "ensure_chromium: $*" >&2; }

CHROMIUM="${GEO_ASSETS_CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$CHROMIUM" ]]; then
    exit 0
fi
if [[ -n "${GEO_ASSETS_CHROMIUM:-}" ]]; then
    say "GEO_ASSETS_CHROMIUM=$CHROMIUM is not an executable file"
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    say "chromium is missing and apt-get is not available; install Chromium and set GEO_ASSETS_CHROMIUM"
    exit 1
fi

SUDO=()
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
fi
say "installing chromium (apt-get)"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
if [[ ! -x "$CHROMIUM" ]]; then
    say "apt-get finished but $CHROMIUM is still missing"
    exit 1
fi
say "chromium ready: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
