#!/usr/bin/env bash
# Fan-out benchmark: pollbridge beside nginx+nchan, same machine, same run.
#
#   sudo scripts/bench-fanout.sh            # full run (about 3 minutes)
#   sudo scripts/bench-fanout.sh --quick    # smoke run: 200 clients, 5 s
#
# On a fresh Debian machine, as root: installs its tools with apt-get, builds
# pollbridge and the load client (scripts/loadgen, pb-loadgen) in Release,
# raises the fd limit and a few network sysctls (restored on exit), then for
# each client count runs both servers in turn (the order alternates) under the
# same event rate, payload and duration, plus the reconnect storm and
# pollbridge's upstream-requests-per-interval check; then the front door's
# three tables: connect rate, TLS fan-out (both servers with ssl on and the
# same certificate) and held connections (idle keep-alive + slowloris up to
# the fd limit, a newcomer's time to its first event; then as many waiting
# long-polls, then as many idle SSE subscribers, each with the server's
# memory per connection and threads); the long-poll fan-out (pollbridge's
# ?transport=long-poll against nchan's longpoll subscribers, same load); the
# compression table (RUNS=compression, not in the default RUNS): bytes on the
# wire per event and CPU per delivery for two streams, each with clients
# that send `Accept-Encoding: gzip` and clients that do not: pollbridge's
# server.compression (each event deflated once per feed and shared) against
# nginx's gzip filter in front of nchan (`gzip on; gzip_types
# text/event-stream;` on a location proxying nchan's, one compressor per
# connection: nchan's eventsource output itself bypasses the gzip filter).
# Prints markdown tables
# and keeps them, the raw JSON results and the server logs in OUT_DIR.
#
# Environment:
#   CLIENTS="1000 5000 10000 max"  client counts; "max" = what the fd limit allows
#   RATE=10              changes per second
#   PAYLOAD=512          bytes of padding per document
#   DURATION=10          seconds of measured publishing per run
#   WARMUP=2             seconds of unmeasured publishing before that
#   STORM_CLIENTS=5000   clients in the reconnect storm (0: skip)
#   UPSTREAM_CLIENTS=10000  clients for the upstream-requests check (0: skip)
#   RUNS="fanout connect tls longpoll held cluster"  which parts to run (fanout:
#                        the client counts above, the storm and the upstream
#                        check); "compression" (issue 21's compression table)
#                        runs only when named
#   COMPRESSION_CLIENTS=5000  compression table: client counts (quick: 200)
#   COMPRESSION_SHAPES="orders large"  its streams: "orders", documents like the
#                        example backend's /api/orders (20 orders, one status
#                        changes per event), pollbridge polling them as a
#                        `diff: json-patch` stream and nchan published the same
#                        patch; "large", a ~50 KB JSON catalogue (3 of 400 items
#                        change per event), a `diff: snapshot` stream, nchan
#                        published the whole document (scripts/loadgen/
#                        bench_documents.h)
#   COMPRESSION_RATE=2   changes per second in the compression runs, orders
#   COMPRESSION_LARGE_RATE=0.5  the same for the ~50 KB document (5,000 clients
#                        × 50 KB × 0.5/s is already 125 MB/s of plain SSE)
#   COMPRESSION_DURATION=20  seconds of measured publishing per compression run
#   INFLATE_EVERY=10     compressed runs: the load client inflates (zlib) and
#                        checks every K-th compressed stream (quick: 1) and only
#                        counts the bytes of the others; their deliveries are
#                        scaled from the checked ones
#   LONGPOLL_CLIENTS=5000  long-poll fan-out: client counts (same RATE, PAYLOAD,
#                        DURATION as the SSE runs)
#   CLUSTER_CLIENTS="3000 9000"  cluster table: at each total client count, one
#                        instance without Redis, one with Redis, then three
#                        instances sharing one redis-server, the clients
#                        spread round-robin over the three; poll requests go
#                        to the first instance (forwarded through Redis when
#                        another holds the lease)
#   REDIS_PORT=18083 CLUSTER_PORTS="18084 18085 18086"
#   CONNECT_CLIENTS="5000 19500" CONNECT_REPEAT=3   connect-rate table
#   TLS_CLIENTS="1000 5000"      TLS fan-out table
#   TLS_ENCODINGS="none gzip"    its clients: plain, then sending Accept-Encoding: gzip
#                                (nchan's through nginx's gzip proxy, whose plain
#                                listener is NCHAN_PLAIN_PORT=18087)
#   HELD_CLIENTS=max     held connections ("max": fd limit - 1000, rounded to 500)
#   HELD_WAITING=<HELD_CLIENTS>  waiting long-polls (and idle SSE subscribers)
#                        held after them, each batch alone (0: skip)
#   TARGETS="pollbridge nchan"
#   BUILD_JOBS=2         parallel compile jobs for the build
#   BUILD_DIR=<repo>/build-bench   OUT_DIR=<BUILD_DIR>/bench-results/<time>
#   POLLBRIDGE=<BUILD_DIR>/pollbridge  the binary under test (e.g. a copy of
#                        the previous build, for a before/after comparison)
#   PB_PORT=18080 NCHAN_PORT=18081 BACKEND_PORT=18082
#   NICE=0               run servers and load client at this nice value (e.g.
#                        -10 on a machine shared with other work; same for both)
#   PERF=0               1: `perf record -g` on the server's processes over each
#                        run's measured window (fan-out, TLS and long-poll runs);
#                        perf-runN-<target>.data, .txt (top symbols) and
#                        .syscalls (perf stat of write/epoll_wait/... counts)
# Flags: --quick, --no-install (skip apt-get), --no-build, -h|--help
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR="$ROOT/scripts/bench"

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
  CLIENTS=${CLIENTS:-200}
  DURATION=${DURATION:-5}
  WARMUP=${WARMUP:-1}
  STORM_CLIENTS=${STORM_CLIENTS:-200}
  UPSTREAM_CLIENTS=${UPSTREAM_CLIENTS:-200}
  UPSTREAM_INTERVALS=${UPSTREAM_INTERVALS:-3}
  CONNECT_CLIENTS=${CONNECT_CLIENTS:-200}
  CONNECT_REPEAT=${CONNECT_REPEAT:-1}
  TLS_CLIENTS=${TLS_CLIENTS:-200}
  HELD_CLIENTS=${HELD_CLIENTS:-400}
  LONGPOLL_CLIENTS=${LONGPOLL_CLIENTS:-200}
  CLUSTER_CLIENTS=${CLUSTER_CLIENTS:-300}
  COMPRESSION_CLIENTS=${COMPRESSION_CLIENTS:-200}
  COMPRESSION_DURATION=${COMPRESSION_DURATION:-5}
  INFLATE_EVERY=${INFLATE_EVERY:-1}
fi
CLIENTS=${CLIENTS:-"1000 5000 10000 max"}
RATE=${RATE:-10}
PAYLOAD=${PAYLOAD:-512}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
STORM_CLIENTS=${STORM_CLIENTS:-5000}
UPSTREAM_CLIENTS=${UPSTREAM_CLIENTS:-10000}
UPSTREAM_INTERVALS=${UPSTREAM_INTERVALS:-10}
TARGETS=${TARGETS:-"pollbridge nchan"}
RUNS=${RUNS:-"fanout connect tls longpoll held cluster"}
LONGPOLL_CLIENTS=${LONGPOLL_CLIENTS:-5000}
CLUSTER_CLIENTS=${CLUSTER_CLIENTS:-"3000 9000"}
CONNECT_CLIENTS=${CONNECT_CLIENTS:-"5000 19500"}
CONNECT_REPEAT=${CONNECT_REPEAT:-3}
TLS_CLIENTS=${TLS_CLIENTS:-"1000 5000"}
TLS_ENCODINGS=${TLS_ENCODINGS:-"none gzip"}
NCHAN_PLAIN_PORT=${NCHAN_PLAIN_PORT:-18087}
HELD_CLIENTS=${HELD_CLIENTS:-max}
COMPRESSION_CLIENTS=${COMPRESSION_CLIENTS:-5000}
COMPRESSION_SHAPES=${COMPRESSION_SHAPES:-"orders large"}
COMPRESSION_RATE=${COMPRESSION_RATE:-2}
COMPRESSION_LARGE_RATE=${COMPRESSION_LARGE_RATE:-0.5}
COMPRESSION_DURATION=${COMPRESSION_DURATION:-20}
INFLATE_EVERY=${INFLATE_EVERY:-10}
BUILD_JOBS=${BUILD_JOBS:-2}
TLS_ON=0  # set around a TLS run: both servers listen with the bench certificate
GZIP_ON=0  # set around the compression runs: nchan's clients go through nginx's gzip proxy
PB_EXTRA=()  # the compression runs' orders stream: pollbridge's own path and trigger
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results/$(date +%Y%m%d-%H%M%S)}
PB_PORT=${PB_PORT:-18080}
NCHAN_PORT=${NCHAN_PORT:-18081}
BACKEND_PORT=${BACKEND_PORT:-18082}
REDIS_PORT=${REDIS_PORT:-18083}
CLUSTER_PORTS=${CLUSTER_PORTS:-"18084 18085 18086"}
TOKEN=${TOKEN:-bench-$RANDOM$RANDOM}
# A run that takes longer than this is killed (and reported as failed).
RUN_TIMEOUT=${RUN_TIMEOUT:-900}
NICE=${NICE:-0}
NICE_CMD=()
if [[ $NICE != 0 ]]; then NICE_CMD=(nice -n "$NICE"); fi

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- cleanup ---
RUN_DIR=$(mktemp -d /tmp/pb-bench.XXXXXX)
chmod 755 "$RUN_DIR"  # nginx workers may run as another user
declare -a SYSCTL_RESTORE=()
NGINX_PID=""
PB_PID=""
PB_PIDS=()  # the cluster runs' instances
REDIS_PID=""
LOADGEN_PID=""
PERF_PID=""

stop_pid() {  # stop_pid PID: TERM, then KILL after 5 s; only our own children
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$LOADGEN_PID"
  stop_pid "$PERF_PID"
  stop_pid "$PB_PID"
  local p
  for p in "${PB_PIDS[@]}"; do stop_pid "$p"; done
  stop_pid "$REDIS_PID"
  stop_pid "$NGINX_PID"
  local kv
  for kv in "${SYSCTL_RESTORE[@]}"; do
    sysctl -q -w "$kv" >/dev/null 2>&1 || true
  done
  if [[ -d $OUT_DIR ]]; then cp -f "$RUN_DIR"/*.log "$OUT_DIR"/ 2>/dev/null || true; fi
  rm -rf "$RUN_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- install ---
# nginx + nchan, procps and the build tools: scripts/deps.sh has the package
# names (and keeps nginx's own service from starting while it installs).
PERF=${PERF:-0}
[[ $INSTALL == 1 ]] && "$ROOT/scripts/deps.sh" build bench
[[ $INSTALL == 1 && $PERF == 1 ]] && "$ROOT/scripts/deps.sh" profile
[[ $PERF == 1 ]] && { command -v perf >/dev/null || die "perf missing (scripts/deps.sh profile)"; }
[[ -e /usr/lib/nginx/modules/ngx_nchan_module.so ]] || die "nchan module missing (libnginx-mod-nchan)"

# ------------------------------------------------------------------ build ---
LOADGEN="$BUILD_DIR/pb-loadgen"
POLLBRIDGE=${POLLBRIDGE:-$BUILD_DIR/pollbridge}
if [[ $BUILD == 1 ]]; then
  log "building Release in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPB_BUILD_TESTS=OFF >/dev/null
  targets=(pb-loadgen)
  [[ " $TARGETS " == *" pollbridge "* ]] && targets+=(pollbridge)
  cmake --build "$BUILD_DIR" -j "$BUILD_JOBS" --target "${targets[@]}"
fi
[[ -x $LOADGEN ]] || die "no load client at $LOADGEN"
"$LOADGEN" --self-test

# ----------------------------------------------------------------- limits ---
LIMITS_NOTE=()
hard=$(ulimit -Hn)
nr_open=$(cat /proc/sys/fs/nr_open 2>/dev/null || echo "$hard")
if [[ $hard != unlimited && $hard -lt $nr_open ]]; then
  if ulimit -Hn "$nr_open" 2>/dev/null; then
    LIMITS_NOTE+=("hard fd limit raised from $hard to $nr_open")
  else
    LIMITS_NOTE+=("hard fd limit $hard could not be raised (no CAP_SYS_RESOURCE); fs.nr_open is $nr_open")
  fi
fi
ulimit -n "$(ulimit -Hn)"
FD_LIMIT=$(ulimit -n)
LIMITS_NOTE+=("ulimit -n = $FD_LIMIT (servers and load client each)")

set_sysctl() {  # set_sysctl KEY VALUE: only raises; remembers the old value
  local key=$1 want=$2 old
  old=$(sysctl -n "$key" 2>/dev/null | tr -s '\t ' ' ') || { LIMITS_NOTE+=("$key: not available"); return; }
  if [[ $old == "$want" ]]; then
    LIMITS_NOTE+=("$key = $want (already)")
  elif sysctl -q -w "$key=$want" >/dev/null 2>&1; then
    SYSCTL_RESTORE+=("$key=$old")
    LIMITS_NOTE+=("$key = $want (was $old, restored on exit)")
  else
    LIMITS_NOTE+=("$key = $old (could not set $want)")
  fi
}
BACKLOG=4096
if [[ $EUID == 0 ]]; then
  [[ $(sysctl -n net.core.somaxconn) -lt $BACKLOG ]] && set_sysctl net.core.somaxconn $BACKLOG
  [[ $(sysctl -n net.ipv4.tcp_max_syn_backlog) -lt $BACKLOG ]] && set_sysctl net.ipv4.tcp_max_syn_backlog $BACKLOG
  set_sysctl net.ipv4.ip_local_port_range "1024 65000"
  # The wider range includes the bench's own ports: keep them out of it, or a
  # client's (or another process's) outgoing connection can hold one just
  # when a server is about to listen there (seen once: a cluster instance
  # could not bind its port).
  set_sysctl net.ipv4.ip_local_reserved_ports \
    "$(echo "$PB_PORT $NCHAN_PORT $NCHAN_PLAIN_PORT $BACKEND_PORT $REDIS_PORT $CLUSTER_PORTS" | tr -s ' ' ',')"
fi
LIMITS_NOTE+=("net.core.somaxconn = $(sysctl -n net.core.somaxconn), listen backlog $BACKLOG for both servers")

# The most clients: every process holds one fd per client plus a few of its
# own; keep a margin and round down to 500.
MAX_CLIENTS=$(( (FD_LIMIT - 300) / 500 * 500 ))
declare -a COUNTS=()
for c in $CLIENTS; do
  [[ $c == max ]] && c=$MAX_CLIENTS
  if (( c > MAX_CLIENTS )); then
    log "capping $c clients at $MAX_CLIENTS (fd limit $FD_LIMIT)"
    c=$MAX_CLIENTS
  fi
  [[ " ${COUNTS[*]} " == *" $c "* ]] || COUNTS+=("$c")
done
(( STORM_CLIENTS > MAX_CLIENTS )) && STORM_CLIENTS=$MAX_CLIENTS
cap() {  # cap LIST: each count at most MAX_CLIENTS ("max" = MAX_CLIENTS)
  local out=() c
  for c in $1; do
    [[ $c == max ]] && c=$MAX_CLIENTS
    (( c > MAX_CLIENTS )) && c=$MAX_CLIENTS
    out+=("$c")
  done
  echo "${out[*]}"
}
CONNECT_CLIENTS=$(cap "$CONNECT_CLIENTS")
TLS_CLIENTS=$(cap "$TLS_CLIENTS")
# Held: each process needs one descriptor per held connection; leave room
# for the newcomers and the processes' own.
[[ $HELD_CLIENTS == max ]] && HELD_CLIENTS=$(( (FD_LIMIT - 1000) / 500 * 500 ))
HELD_WAITING=${HELD_WAITING:-$HELD_CLIENTS}
(( HELD_WAITING > HELD_CLIENTS )) && HELD_WAITING=$HELD_CLIENTS
LONGPOLL_CLIENTS=$(cap "$LONGPOLL_CLIENTS")
COMPRESSION_CLIENTS=$(cap "$COMPRESSION_CLIENTS")

# The certificate both servers present in TLS runs (self-signed, EC P-256:
# the load client does not verify it; the cost measured is the server's).
CERT="$RUN_DIR/bench-cert.pem"
KEY="$RUN_DIR/bench-key.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$KEY" -out "$CERT" 2>/dev/null || die "openssl could not make the bench certificate"
chmod 644 "$CERT" "$KEY"
(( UPSTREAM_CLIENTS > MAX_CLIENTS )) && UPSTREAM_CLIENTS=$MAX_CLIENTS

mkdir -p "$OUT_DIR"
RESULTS="$OUT_DIR/results.jsonl"
: > "$RESULTS"

# ------------------------------------------------------- servers and runs ---
# Starting and stopping both servers (nginx+nchan, pollbridge), then one
# run of the load client against either, with its profile: sourced here, so
# they see everything set above.
# shellcheck source=bench/fanout-servers.sh
source "$BENCH_DIR/fanout-servers.sh"
# shellcheck source=bench/fanout-runs.sh
source "$BENCH_DIR/fanout-runs.sh"

if [[ " $TARGETS " == *" pollbridge "* ]]; then
  [[ -x $POLLBRIDGE ]] || die "no pollbridge binary at $POLLBRIDGE"
  PB_VERSION=$("$POLLBRIDGE" --version 2>&1 | head -n 1) || PB_VERSION="(--version failed)"
fi

has_run() { [[ " $RUNS " == *" $1 "* ]]; }

log "runs: $RUNS; client counts: ${COUNTS[*]}; rate $RATE/s; payload $PAYLOAD B; $DURATION s per run"
storm_done=0
i=0
has_run fanout || COUNTS=()
for n in "${COUNTS[@]}"; do
  extra=()
  if [[ $n == "$STORM_CLIENTS" ]]; then
    extra=(--storm)
    storm_done=1
  fi
  order=($TARGETS)
  if (( i % 2 == 1 )); then order=($(printf '%s\n' "${order[@]}" | tac)); fi
  for t in "${order[@]}"; do run_target "$t" "$n" "${extra[@]}"; done
  i=$((i + 1))
done
if has_run fanout && [[ $storm_done == 0 && $STORM_CLIENTS -gt 0 ]]; then
  for t in $TARGETS; do run_target "$t" "$STORM_CLIENTS" --storm; done
fi
if has_run fanout && [[ $UPSTREAM_CLIENTS -gt 0 && " $TARGETS " == *" pollbridge "* ]]; then
  run_pollbridge "$UPSTREAM_CLIENTS" 1s --mode upstream-count --interval-ms 1000 \
    --intervals "$UPSTREAM_INTERVALS" --rate 1
fi

# The front door. The order of the two servers alternates, as above.
each_target() {  # each_target INDEX ARGS...: both servers, order alternating with INDEX
  local k=$1 t
  shift
  local order=($TARGETS)
  if (( k % 2 == 1 )); then order=($(printf '%s\n' "${order[@]}" | tac)); fi
  for t in "${order[@]}"; do run_target "$t" "$@"; done
}
if has_run connect; then
  k=0
  for n in $CONNECT_CLIENTS; do
    log "connect rate: $n clients, $CONNECT_REPEAT rounds"
    each_target $k "$n" --mode connect --repeat "$CONNECT_REPEAT"
    k=$((k + 1))
  done
fi
if has_run tls; then
  TLS_ON=1
  k=0
  for enc in $TLS_ENCODINGS; do
    # gzip: clients that send Accept-Encoding: gzip; nchan's go through
    # nginx's gzip proxy, as in the compression runs.
    [[ $enc == gzip ]] && GZIP_ON=1
    for n in $TLS_CLIENTS; do
      if [[ $enc == gzip ]]; then
        log "TLS fan-out: $n clients, Accept-Encoding gzip"
        each_target $k "$n" --accept-encoding gzip --inflate-every "$INFLATE_EVERY"
      else
        log "TLS fan-out: $n clients"
        each_target $k "$n"
      fi
      k=$((k + 1))
    done
    GZIP_ON=0
  done
  TLS_ON=0
fi
if has_run longpoll; then
  k=0
  for n in $LONGPOLL_CLIENTS; do
    log "long-poll fan-out: $n clients"
    each_target $k "$n" --mode longpoll
    k=$((k + 1))
  done
fi
if has_run held; then
  log "held connections: $HELD_CLIENTS (half idle keep-alive, half slowloris);" \
    "then $HELD_WAITING waiting long-polls, then $HELD_WAITING idle SSE subscribers"
  each_target 0 "$HELD_CLIENTS" --mode held --newcomers 5 --settle 2 --waiting "$HELD_WAITING"
fi
# Issue 21's compression table: each stream shape, plain then gzip clients,
# both servers side by side (the order alternating). nchan's clients connect
# to nginx's /sub-gz, a proxy of /sub with the gzip filter on (nchan's own
# eventsource responses bypass that filter), plain and gzip clients alike;
# pollbridge runs with its default server.compression ([gzip]).
if has_run compression; then
  GZIP_ON=1
  k=0
  for n in $COMPRESSION_CLIENTS; do
    for shape in $COMPRESSION_SHAPES; do
      PB_EXTRA=()
      [[ $shape == orders ]] && PB_EXTRA=(--path /events/orders
        --trigger-path '/streams/orders/poll?wait=true')
      rate=$COMPRESSION_RATE
      [[ $shape == large ]] && rate=$COMPRESSION_LARGE_RATE
      for enc in "" gzip; do
        log "compression: $n clients, $shape documents, Accept-Encoding '${enc:-none}'"
        each_target $k "$n" --shape "$shape" --rate "$rate" --duration "$COMPRESSION_DURATION" \
          --accept-encoding "$enc" --inflate-every "$INFLATE_EVERY" \
          --label "compression: $shape"
        k=$((k + 1))
      done
    done
  done
  PB_EXTRA=()
  GZIP_ON=0
fi

if has_run cluster && [[ " $TARGETS " == *" pollbridge "* ]]; then
  command -v redis-server >/dev/null || die "redis-server missing (scripts/deps.sh bench)"
  for n in $(cap "$CLUSTER_CLIENTS"); do
    run_cluster "$n" 1 0 "one instance, no Redis"
    run_cluster "$n" 1 1 "one instance, Redis"
    run_cluster "$n" 3 1 "three instances, one Redis"
  done
fi

# ----------------------------------------------------------------- report ---
{
  echo "## Fan-out benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Command: \`$(printf '%q ' "$0" "$@" | sed 's/ $//')\`" \
    "(CLIENTS=\"$CLIENTS\" RATE=$RATE PAYLOAD=$PAYLOAD DURATION=$DURATION WARMUP=$WARMUP" \
    "STORM_CLIENTS=$STORM_CLIENTS UPSTREAM_CLIENTS=$UPSTREAM_CLIENTS NICE=$NICE" \
    "RUNS=\"$RUNS\" TARGETS=\"$TARGETS\" CLUSTER_CLIENTS=\"$CLUSTER_CLIENTS\"" \
    "LONGPOLL_CLIENTS=\"$LONGPOLL_CLIENTS\" TLS_CLIENTS=\"$TLS_CLIENTS\" TLS_ENCODINGS=\"$TLS_ENCODINGS\" HELD_CLIENTS=$HELD_CLIENTS" \
    "HELD_WAITING=$HELD_WAITING COMPRESSION_CLIENTS=\"$COMPRESSION_CLIENTS\"" \
    "COMPRESSION_SHAPES=\"$COMPRESSION_SHAPES\" COMPRESSION_RATE=$COMPRESSION_RATE" \
    "COMPRESSION_LARGE_RATE=$COMPRESSION_LARGE_RATE COMPRESSION_DURATION=$COMPRESSION_DURATION" \
    "INFLATE_EVERY=$INFLATE_EVERY PERF=$PERF POLLBRIDGE=$POLLBRIDGE)"
  echo
  echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))," \
    "$(free -g | awk '/^Mem:/ {print $2}') GiB RAM, kernel $(uname -r)"
  echo
  echo "Source: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
  echo
  echo "Servers: ${PB_VERSION:-pollbridge (not run)} with hub_threads 2;" \
    "$(nginx -v 2>&1 | sed 's/^nginx version: //') with nchan" \
    "$(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null) (worker_processes 2)"
  echo
  echo "Limits:"
  printf -- '- %s\n' "${LIMITS_NOTE[@]}"
  echo
  "$LOADGEN" --report "$RESULTS"
  if [[ -s $OUT_DIR/failures.jsonl ]]; then
    echo "Failures:"
    sed 's/^/    /' "$OUT_DIR/failures.jsonl"
  fi
} > "$OUT_DIR/report.md"
cat "$OUT_DIR/report.md"
log "results in $OUT_DIR (report.md, results.jsonl, logs)"
