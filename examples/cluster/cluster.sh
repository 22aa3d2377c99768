#!/usr/bin/env bash
# Three pollbridge instances sharing one Redis behind nginx, all on this
# machine, in front of the example legacy backend (docs/cluster.md):
#
#   legacy-backend :9000 ◄─ one poll per interval ─ pollbridge :8081 :8082 :8083 ◄─ nginx :8080 ◄─ browsers
#                                                   └──────── redis :6390 ────────┘
#
#   examples/cluster/cluster.sh start    install, build, start everything; open http://127.0.0.1:8080/
#   examples/cluster/cluster.sh status   who runs, who holds each poll lease
#   examples/cluster/cluster.sh kill N   kill -9 instance N (1..3): watch polling move
#   examples/cluster/cluster.sh stop     stop everything
#
# Environment:
#   BUILD_DIR    build directory (default build/)
#   RUN_DIR      logs, pids, Redis' folder (default build/cluster-example)
#   SKIP_BUILD=1 use the binaries already built, install and build nothing
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD="${BUILD_DIR:-$ROOT/build}"
RUN="${RUN_DIR:-$BUILD/cluster-example}"
HERE=examples/cluster
PORTS=(8081 8082 8083)
REDIS_PORT=6390
PREFIX="pollbridge-example:"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() {
  printf 'cluster: %s\n' "$*" >&2
  exit 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# Waits (at most ~10 s) until `name` listens on `port`.
wait_port() {
  local port=$1 name=$2
  for _ in $(seq 100); do
    alive "$name" || die "$name exited; see $RUN/$name.log"
    port_open "$port" && return 0
    sleep 0.1
  done
  die "$name is not listening on port $port; see $RUN/$name.log"
}

# Starts `name` in the background: its pid in $RUN/name.pid, its output in
# $RUN/name.log.
launch() {
  local name=$1
  shift
  "$@" >"$RUN/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
}

start() {
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    scripts/deps.sh build example cluster
    if [ ! -f "$BUILD/CMakeCache.txt" ]; then
      cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
    fi
    cmake --build "$BUILD" --target pollbridge legacy-backend
  fi
  for port in 9000 8080 "$REDIS_PORT" "${PORTS[@]}"; do
    port_open "$port" && die "port $port is in use (already started? try: $0 stop)"
  done
  mkdir -p "$RUN/redis" "$RUN/tmp"
  say "redis-server on 127.0.0.1:$REDIS_PORT"
  launch redis redis-server "$HERE/redis.conf" --dir "$RUN/redis"
  wait_port "$REDIS_PORT" redis
  say "legacy backend on 127.0.0.1:9000"
  launch backend "$BUILD/legacy-backend" --port 9000
  wait_port 9000 backend
  local i=1
  for port in "${PORTS[@]}"; do
    say "pollbridge $i on 127.0.0.1:$port"
    launch "pollbridge$i" "$BUILD/pollbridge" --config "$HERE/pollbridge.yaml" --listen "127.0.0.1:$port"
    wait_port "$port" "pollbridge$i"
    i=$((i + 1))
  done
  say "nginx on 127.0.0.1:8080"
  launch nginx nginx -p "$RUN" -c "$ROOT/$HERE/nginx.conf" -g "daemon off;"
  wait_port 8080 nginx
  say "open http://127.0.0.1:8080/  (logs in $RUN; $0 status | kill N | stop)"
}

stop() {
  for name in nginx pollbridge1 pollbridge2 pollbridge3 backend redis; do
    if alive "$name"; then
      kill -TERM "$(cat "$RUN/$name.pid")" 2>/dev/null || true
    fi
  done
  for name in nginx pollbridge1 pollbridge2 pollbridge3 backend redis; do
    for _ in $(seq 50); do alive "$name" || break; sleep 0.1; done
    if alive "$name"; then kill -KILL "$(cat "$RUN/$name.pid")" 2>/dev/null || true; fi
    rm -f "$RUN/$name.pid"
  done
  say "stopped"
}

status() {
  for name in redis backend pollbridge1 pollbridge2 pollbridge3 nginx; do
    if alive "$name"; then
      printf '%-12s pid %s\n' "$name" "$(cat "$RUN/$name.pid")"
    else
      printf '%-12s not running\n' "$name"
    fi
  done
  if alive redis; then
    echo "poll leases (host:pid:random#fence):"
    redis-cli -p "$REDIS_PORT" --scan --pattern "${PREFIX}*:lease" | sort | while read -r key; do
      printf '  %-40s %s\n' "$key" "$(redis-cli -p "$REDIS_PORT" GET "$key")"
    done
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kill)
    n=${2:-}
    [[ $n =~ ^[1-3]$ ]] || die "kill needs an instance number 1..3"
    alive "pollbridge$n" || die "pollbridge$n is not running"
    kill -KILL "$(cat "$RUN/pollbridge$n.pid")"
    say "killed pollbridge$n (kill -9); another instance takes its leases within about 3 s"
    ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
    ;;
esac
