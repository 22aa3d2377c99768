#!/usr/bin/env bash
# Runs pollbridge's bundled example on a fresh Debian machine: installs what
# is missing (apt), builds pollbridge and the example legacy backend (Release,
# in build/), starts both from the repository root and prints the page's URL.
# Ctrl-C (or SIGTERM) stops both.
#
#   scripts/run-example.sh
#
# Environment:
#   PB_ADMIN_TOKEN  enables POST /streams/{name}/poll with this bearer token
#   BACKEND_SEED    seed of the backend's changes (default: from the clock)
#   BUILD_DIR       build directory (default build/)
#   SKIP_BUILD=1    use the binaries already there, install and build nothing
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD="${BUILD_DIR:-$ROOT/build}"
CONFIG=examples/pollbridge.yaml
PAGE_URL=http://127.0.0.1:8080/
BACKEND_PORT=9000

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() {
  printf 'run-example: %s\n' "$*" >&2
  exit 1
}

build() {
  if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    say "configuring $BUILD (Release)"
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
  fi
  say "building pollbridge and legacy-backend"
  cmake --build "$BUILD" --target pollbridge legacy-backend
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Fails if something already listens on a port the example needs.
check_port_free() {
  if port_open "$1"; then
    die "port $1 is in use; stop whatever listens there (another example?) and retry"
  fi
}

# Waits (at most ~10 s) until process `pid` accepts connections on `port`.
wait_port() {
  local port=$1 pid=$2 name=$3
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || die "$name exited; see its output above"
    port_open "$port" && return 0
    sleep 0.1
  done
  die "$name is not listening on port $port"
}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  # The packages (the one list, by group): scripts/deps.sh.
  scripts/deps.sh build example
  build
fi
for binary in pollbridge legacy-backend; do
  [ -x "$BUILD/$binary" ] || die "no $BUILD/$binary"
done

check_port_free "$BACKEND_PORT"
check_port_free 8080

BACKEND_PID=
PROXY_PID=
# shellcheck disable=SC2317  # called by the EXIT trap
stop() {
  trap - INT TERM EXIT
  echo
  say "stopping"
  for pid in $PROXY_PID $BACKEND_PID; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $PROXY_PID $BACKEND_PID; do
    wait "$pid" 2>/dev/null || true
  done
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The backend first: pollbridge's first poll then finds it up.
backend_args=(--port "$BACKEND_PORT")
[ -n "${BACKEND_SEED:-}" ] && backend_args+=(--seed "$BACKEND_SEED")
say "starting legacy-backend on 127.0.0.1:$BACKEND_PORT"
"$BUILD/legacy-backend" "${backend_args[@]}" &
BACKEND_PID=$!
wait_port "$BACKEND_PORT" "$BACKEND_PID" legacy-backend

say "starting pollbridge with $CONFIG"
mkdir -p data/example
"$BUILD/pollbridge" --config "$CONFIG" &
PROXY_PID=$!
wait_port 8080 "$PROXY_PID" pollbridge

cat <<EOF

  The example is running. Open the page:

      $PAGE_URL

  Also try:
      curl -N http://127.0.0.1:8080/events/orders          # the SSE stream itself
      curl -N 'http://127.0.0.1:8080/events?stream=orders&stream=board'
      curl http://127.0.0.1:8080/streams                    # status of every stream
      curl http://127.0.0.1:$BACKEND_PORT/api/orders               # what the legacy API serves

  Ctrl-C stops both.

EOF

# Either process exiting ends the example (the EXIT trap stops the other).
wait -n "$BACKEND_PID" "$PROXY_PID" || true
die "a process exited unexpectedly"
