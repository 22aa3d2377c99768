#!/usr/bin/env bash
# Runs the JavaScript tests (tests/js) of the browser client
# (clients/js/pollbridge.js) and of pollbridge's wire contract:
#   client.test.mjs        appliers and the watch() state machine (unit)
#   longpoll.test.mjs      long-poll and the fallback to it, fake clock (unit)
#   event-stream.test.mjs  the fetch reader: WHATWG parsing, reconnects, tokens
#   property.test.mjs      random documents through the binary vs fast-json-patch
#   sharing.test.mjs       tab sharing: leader election, handover races
#   formats.test.mjs       formats per subscriber, token expiry, real binary
#   fallback.test.mjs      long-poll, behind a buffering proxy: fake and real
#   bundle.test.mjs        size (esbuild + gzip, budget 8 KiB), versions, .d.ts
#   eventsource.test.mjs   the wire contract through npm's eventsource
#   browser.test.mjs       the example page in headless Chromium, 8 tabs
#   compression.test.mjs   gzip streams through zlib.createGunzip() and Chromium
#   console.test.mjs       the operator's console in headless Chromium, real binary
# Works on a clean clone of a fresh Debian machine: installs Node.js/npm and
# Chromium from apt when they are missing (scripts/deps.sh), the pinned npm
# packages with `npm ci`, and builds pollbridge unless PB_BINARY names one.
# The gzipped size of the client is printed at the end (and kept in
# build/pollbridge-js-size.txt); screenshots go to tests/js/artifacts/.
#
#   scripts/test-js.sh [extra node --test arguments]
#
# Environment:
#   PB_BINARY   pollbridge binary to test (relative to the repository root;
#               default build/pollbridge, built here when PB_BINARY is unset)
#   CHROMIUM    browser binary (default /usr/bin/chromium)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

say() { printf '==> %s\n' "$*"; }

# Node.js and npm: only when node (npm) is missing; a newer Node from
# elsewhere is kept. The tests need Node 18 or later (Debian 12 has 18).
scripts/deps.sh js
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
  echo "test-js: Node.js $(node --version) is too old; 18 or later is needed" >&2
  exit 1
fi

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  scripts/deps.sh browser
fi
export CHROMIUM

# pollbridge itself.
if [ -z "${PB_BINARY:-}" ]; then
  scripts/deps.sh build example
  if [ ! -f build/CMakeCache.txt ]; then
    say "configuring build/ (Release)"
    cmake -S "$ROOT" -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
  fi
  say "building pollbridge"
  cmake --build build --target pollbridge
  export PB_BINARY="$ROOT/build/pollbridge"
fi

cd tests/js
say "installing the pinned npm packages (npm ci)"
npm ci --no-audit --no-fund --ignore-scripts
say "running the tests against $PB_BINARY"
rm -f "$ROOT/build/pollbridge-js-size.txt"
files=(client.test.mjs longpoll.test.mjs event-stream.test.mjs property.test.mjs sharing.test.mjs formats.test.mjs
  fallback.test.mjs bundle.test.mjs eventsource.test.mjs tls.test.mjs browser.test.mjs cors.test.mjs compression.test.mjs
  console.test.mjs)
# A test file that is not in the list would never run: refuse to go on.
for f in *.test.mjs; do
  [[ " ${files[*]} " == *" $f "* ]] || { echo "test-js: $f is not in scripts/test-js.sh's list" >&2 && exit 1; }
done
node --test "$@" "${files[@]}"
if [ -f "$ROOT/build/pollbridge-js-size.txt" ]; then
  say "$(cat "$ROOT/build/pollbridge-js-size.txt")"
fi
