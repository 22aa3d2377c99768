#!/usr/bin/env bash
# Three pollbridge instances sharing one Redis behind nginx, all on this
# machine, in front of the example legacy backend (docs/cluster.md):
#
#   legacy-backend :9000 ◄─ one poll per interval ─ pollbridge :8081 :8082 :8083 ◄─ nginx :8080 ◄─ browsers
#                                                   └──────── redis :6390 ────────┘
#
#   examples/cluster/cluster.sh start    install, build, start everything; open http://127.0.0.1:8080/
#   examples/cluster/cluster.sh start sentinel
#                                        the same with Redis failover: a master (:6390), a
#                                        replica (:6391) and three sentinels (:26390..26392)
#   examples/cluster/cluster.sh status   who runs, who holds each poll lease (and the master)
#   examples/cluster/cluster.sh kill N   kill -9 instance N (1..3): watch polling move
#   examples/cluster/cluster.sh failover kill -9 the Redis master (Sentinel variant): watch
#                                        the sentinels promote the replica, events go on
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
REPLICA_PORT=6391
SENTINEL_PORTS=(26390 26391 26392)
MASTER_NAME=pollbridge-example
PREFIX="pollbridge-example:"
# Every process cluster.sh may have started, in stopping order.
NAMES=(nginx pollbridge1 pollbridge2 pollbridge3 backend sentinel1 sentinel2 sentinel3 replica redis)

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
  local variant=${1:-}
  [ -z "$variant" ] || [ "$variant" = sentinel ] || die "start takes nothing or 'sentinel'"
  local config="$HERE/pollbridge.yaml"
  [ "$variant" = sentinel ] && config="$HERE/pollbridge-sentinel.yaml"
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
  if [ "$variant" = sentinel ]; then
    mkdir -p "$RUN/replica"
    say "replica on 127.0.0.1:$REPLICA_PORT, sentinels on ${SENTINEL_PORTS[*]}"
    launch replica redis-server "$HERE/redis-replica.conf" --dir "$RUN/replica"
    wait_port "$REPLICA_PORT" replica
    local n=1
    for port in "${SENTINEL_PORTS[@]}"; do
      # Sentinel rewrites its config: each gets a fresh copy.
      cp "$HERE/sentinel.conf" "$RUN/sentinel$n.conf"
      launch "sentinel$n" redis-server "$RUN/sentinel$n.conf" --sentinel --port "$port"
      wait_port "$port" "sentinel$n"
      n=$((n + 1))
    done
  fi
  say "legacy backend on 127.0.0.1:9000"
  launch backend "$BUILD/legacy-backend" --port 9000
  wait_port 9000 backend
  local i=1
  for port in "${PORTS[@]}"; do
    say "pollbridge $i on 127.0.0.1:$port"
    launch "pollbridge$i" "$BUILD/pollbridge" --config "$config" --listen "127.0.0.1:$port"
    wait_port "$port" "pollbridge$i"
    i=$((i + 1))
  done
  say "nginx on 127.0.0.1:8080"
  launch nginx nginx -p "$RUN" -c "$ROOT/$HERE/nginx.conf" -g "daemon off;"
  wait_port 8080 nginx
  say "open http://127.0.0.1:8080/  (logs in $RUN; $0 status | kill N | stop)"
}

stop() {
  for name in "${NAMES[@]}"; do
    if alive "$name"; then
      kill -TERM "$(cat "$RUN/$name.pid")" 2>/dev/null || true
    fi
  done
  for name in "${NAMES[@]}"; do
    for _ in $(seq 50); do alive "$name" || break; sleep 0.1; done
    if alive "$name"; then kill -KILL "$(cat "$RUN/$name.pid")" 2>/dev/null || true; fi
    rm -f "$RUN/$name.pid"
  done
  say "stopped"
}

status() {
  for name in "${NAMES[@]}"; do
    if alive "$name"; then
      printf '%-12s pid %s\n' "$name" "$(cat "$RUN/$name.pid")"
    elif [ -f "$RUN/$name.log" ]; then
      printf '%-12s not running\n' "$name"
    fi
  done
  local port=$REDIS_PORT
  if alive sentinel1 || alive sentinel2 || alive sentinel3; then
    for p in "${SENTINEL_PORTS[@]}"; do
      local m
      m=$(redis-cli -p "$p" SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | paste -sd: -) || true
      if [ -n "$m" ]; then
        echo "master (sentinel :$p): $m"
        port=${m##*:}
        break
      fi
    done
  fi
  if port_open "$port"; then
    echo "poll leases (host:pid:random#fence):"
    redis-cli -p "$port" --scan --pattern "${PREFIX}*:lease" | sort | while read -r key; do
      printf '  %-40s %s\n' "$key" "$(redis-cli -p "$port" GET "$key")"
    done
  fi
}

# kill -9 of whichever Redis the sentinels name as master now.
failover() {
  alive sentinel1 || die "the Sentinel variant is not running (start sentinel)"
  local m
  m=$(redis-cli -p "${SENTINEL_PORTS[0]}" SENTINEL get-master-addr-by-name "$MASTER_NAME" | paste -sd: -)
  local name=redis
  [ "${m##*:}" = "$REPLICA_PORT" ] && name=replica
  alive "$name" || die "the master ($m) is not running"
  kill -KILL "$(cat "$RUN/$name.pid")"
  say "killed the Redis master $m ($name, kill -9): the sentinels promote the other within about 2-3 s"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  failover) failover ;;
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
