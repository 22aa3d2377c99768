#!/usr/bin/env bash
# Polling benchmark: many streams at a fixed interval against one local
# backend, the current poller (libcurl multi on one event-loop thread) beside
# the previous one (cpp-httplib clients on a pool of 8 threads), built from
# the commit where this branch left main, in the same run.
#
#   sudo scripts/bench-polls.sh            # 2,000 streams, 1 s, 30 s per run
#   sudo scripts/bench-polls.sh --quick    # 200 streams, 5 s per run
#
# As root on a fresh Debian machine it installs nginx (the backend) and the
# build dependencies, builds both binaries in Release (the old one in a
# temporary git worktree, removed on exit), then for each scenario runs both
# pollers one after the other, each freshly started:
#   304   nginx answers If-None-Match with 304 Not Modified (ETag on)
#   200   nginx always sends the same body with 200 (ETag and
#         Last-Modified off): pollbridge's same-body SHA-256 check
# and reports per run: polls per second (from pollbridge's own counters),
# CPU per poll (user + system time of the pollbridge process over the
# measured window, divided by the polls in it), threads, RSS, and the TCP
# connections open to the backend. Markdown goes to stdout and OUT_DIR.
#
# Environment:
#   STREAMS=2000  INTERVAL=1s  DURATION=30  WARMUP=5  DOC_BYTES=1024
#   SCENARIOS="304 200"   POLLERS="new old"
#   OLD_REV=<merge-base of HEAD and main>   the commit the old poller comes from
#   BUILD_DIR=<repo>/build-bench   OUT_DIR=<BUILD_DIR>/bench-polls/<time>
#   BACKEND_PORT=18090  PB_PORT=18091
# Flags: --quick, --no-install, --no-build, -h|--help
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=0
INSTALL=1
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --no-install) INSTALL=0 ;;
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done
if [[ $QUICK == 1 ]]; then
  STREAMS=${STREAMS:-200}
  DURATION=${DURATION:-5}
  WARMUP=${WARMUP:-2}
fi
STREAMS=${STREAMS:-2000}
INTERVAL=${INTERVAL:-1s}
DURATION=${DURATION:-30}
WARMUP=${WARMUP:-5}
DOC_BYTES=${DOC_BYTES:-1024}
SCENARIOS=${SCENARIOS:-"304 200"}
POLLERS=${POLLERS:-"new old"}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-polls/$(date +%Y%m%d-%H%M%S)}
BACKEND_PORT=${BACKEND_PORT:-18090}
PB_PORT=${PB_PORT:-18091}
OLD_REV=${OLD_REV:-$(git -C "$ROOT" merge-base HEAD main)}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench-polls: %s\n' "$*" >&2; exit 1; }

mkdir -p "$OUT_DIR"
RUN_DIR=$(mktemp -d /tmp/bench-polls-XXXXXX)
chmod 755 "$RUN_DIR"  # nginx workers may run as another user
OLD_TREE="$RUN_DIR/old-tree"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -d $OLD_TREE ]]; then git -C "$ROOT" worktree remove --force "$OLD_TREE" >/dev/null 2>&1 || true; fi
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT

if [[ $INSTALL == 1 ]]; then
  "$ROOT/scripts/deps.sh" --build
  if ! command -v nginx >/dev/null; then
    log "installing nginx (its own service is kept from starting)"
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx
    rm -f /usr/sbin/policy-rc.d
  fi
fi
command -v nginx >/dev/null || die "nginx is needed as the backend"

# Both pollers open a socket per connection; the old one keeps one per stream.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

NEW_BIN="$BUILD_DIR/pollbridge"
OLD_BIN="$BUILD_DIR/old/pollbridge"
if [[ $BUILD == 1 ]]; then
  export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-$(command -v ccache || true)}
  log "building the current pollbridge (Release, $BUILD_DIR)"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPB_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD_DIR" --target pollbridge >/dev/null
  log "building the old poller from $OLD_REV ($BUILD_DIR/old)"
  git -C "$ROOT" worktree add --detach "$OLD_TREE" "$OLD_REV" >/dev/null 2>&1
  cmake -S "$OLD_TREE" -B "$BUILD_DIR/old" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPB_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD_DIR/old" --target pollbridge >/dev/null
fi
[[ -x $NEW_BIN && -x $OLD_BIN ]] || die "missing binaries (run without --no-build)"

# The backend: nginx serving one static document, keep-alive without limits.
mkdir -p "$RUN_DIR/nginx/www" "$RUN_DIR/nginx/tmp"
python3 - "$DOC_BYTES" > "$RUN_DIR/nginx/www/doc.json" <<'PY'
import json, sys
n = int(sys.argv[1])
items, size = [], 2
while size < n:
    item = {"id": len(items), "status": "open", "total": 12.50, "note": "x" * 20}
    items.append(item)
    size = len(json.dumps({"orders": items}, separators=(",", ":")))
print(json.dumps({"orders": items}, separators=(",", ":")))
PY
start_nginx() {  # <etag on|off>
  local etag=$1
  cat > "$RUN_DIR/nginx/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 20000;
pid $RUN_DIR/nginx/nginx.pid;
error_log $RUN_DIR/nginx/error.log warn;
events { use epoll; worker_connections 16000; multi_accept on; }
http {
  access_log off;
  client_body_temp_path $RUN_DIR/nginx/tmp;
  keepalive_requests 1000000;
  keepalive_timeout 600s;
  server {
    listen 127.0.0.1:$BACKEND_PORT backlog=4096;
    root $RUN_DIR/nginx/www;
    default_type application/json;
$(if [[ $etag == on ]]; then
    echo "    etag on;"
    echo "    if_modified_since exact;"
  else
    # No validators at all: the same body with 200 every time.
    echo "    location = /doc.json { return 200 '$(cat "$RUN_DIR/nginx/www/doc.json")'; }"
  fi)
  }
}
EOF
  nginx -p "$RUN_DIR/nginx" -c "$RUN_DIR/nginx/nginx.conf" -g 'daemon off;' \
    >> "$OUT_DIR/nginx.log" 2>&1 &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$BACKEND_PORT/doc.json" >/dev/null && return 0
    sleep 0.1
  done
  die "nginx did not start (see $OUT_DIR/nginx.log)"
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

write_config() {
  local f="$RUN_DIR/pollbridge.yaml"
  {
    printf 'server:\n  listen: "127.0.0.1:%s"\n  max_clients: 1000\n' "$PB_PORT"
    printf 'state: { dir: "" }\nhistory: 10\nstreams:\n'
    for ((i = 0; i < STREAMS; i++)); do
      printf '  - { name: s%d, url: "http://127.0.0.1:%s/doc.json?n=%d", interval: %s, timeout: 5s }\n' \
        "$i" "$BACKEND_PORT" "$i" "$INTERVAL"
    done
  } > "$f"
  echo "$f"
}

# Total polls so far, from pollbridge's /streams counters.
polls_of() {
  curl -sf "http://127.0.0.1:$PB_PORT/streams" |
    python3 -c 'import json,sys; print(sum(s["polls"] for s in json.load(sys.stdin)["streams"]))'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_field() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
backend_connections() {
  ss -Htn state established "( dport = :$BACKEND_PORT )" 2>/dev/null | wc -l
}

CONFIG=$(write_config)
HZ=$(getconf CLK_TCK)
RESULTS="$OUT_DIR/results.tsv"
printf 'scenario\tpoller\tpolls_per_s\tcpu_us_per_poll\tcpu_pct\tthreads\trss_mib\thwm_mib\tconnections\n' > "$RESULTS"

run_one() {  # <scenario> <new|old>
  local scenario=$1 which=$2 bin
  bin=$([[ $which == new ]] && echo "$NEW_BIN" || echo "$OLD_BIN")
  log "$scenario, $which poller: $STREAMS streams every $INTERVAL, ${WARMUP}s warm-up, ${DURATION}s measured"
  "$bin" --config "$CONFIG" --memory > "$OUT_DIR/pollbridge-$scenario-$which.out" \
    2> "$OUT_DIR/pollbridge-$scenario-$which.err" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PB_PORT/healthz" >/dev/null && break; sleep 0.1; done
  sleep "$WARMUP"
  local p0 c0 t0 p1 c1 t1
  p0=$(polls_of) c0=$(cpu_ticks "$pid") t0=$(date +%s.%N)
  sleep "$DURATION"
  p1=$(polls_of) c1=$(cpu_ticks "$pid") t1=$(date +%s.%N)
  local threads rss hwm conns
  threads=$(status_field "$pid" Threads)
  rss=$(status_field "$pid" VmRSS)
  hwm=$(status_field "$pid" VmHWM)
  conns=$(backend_connections)
  stop_pid "$pid"
  python3 - "$scenario" "$which" "$p0" "$p1" "$c0" "$c1" "$t0" "$t1" "$HZ" "$threads" "$rss" "$hwm" "$conns" >> "$RESULTS" <<'PY'
import sys
s, w, p0, p1, c0, c1, t0, t1, hz, th, rss, hwm, conns = sys.argv[1:]
polls = int(p1) - int(p0)
secs = float(t1) - float(t0)
cpu = (int(c1) - int(c0)) / int(hz)
print("\t".join([s, w, f"{polls / secs:.0f}", f"{cpu * 1e6 / max(polls, 1):.1f}",
                 f"{100 * cpu / secs:.1f}", th, f"{int(rss) / 1024:.1f}", f"{int(hwm) / 1024:.1f}",
                 conns]))
PY
}

for scenario in $SCENARIOS; do
  start_nginx "$([[ $scenario == 304 ]] && echo on || echo off)"
  curl -sI "http://127.0.0.1:$BACKEND_PORT/doc.json" | tr -d '\r' | grep -iE '^(etag|last-modified):' \
    > "$OUT_DIR/validators-$scenario.txt" || true
  for which in $POLLERS; do run_one "$scenario" "$which"; done
  stop_pid "$NGINX_PID"
done

{
  echo "## Polling: $STREAMS streams every $INTERVAL against one local nginx"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), $(uname -r)."
  echo "Old poller: $(git -C "$ROOT" log -1 --format='%h %s' "$OLD_REV" | cut -c1-72)"
  echo "New poller: $(git -C "$ROOT" log -1 --format='%h %s' HEAD | cut -c1-72)"
  echo "Document: $(wc -c < "$RUN_DIR/nginx/www/doc.json") bytes. ${WARMUP}s warm-up, ${DURATION}s measured per run."
  echo
  echo "| scenario | poller | polls/s | CPU per poll (µs) | CPU (% of a core) | threads | RSS (MiB) | peak RSS (MiB) | connections to the backend |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  tail -n +2 "$RESULTS" | while IFS=$'\t' read -r s w pps cpp pct th rss hwm conns; do
    echo "| $s | $w | $pps | $cpp | $pct | $th | $rss | $hwm | $conns |"
  done
} | tee "$OUT_DIR/report.md"
log "results in $OUT_DIR"
