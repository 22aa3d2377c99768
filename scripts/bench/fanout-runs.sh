# Part of scripts/bench-fanout.sh (sourced by it, never run alone): one run
# of the load client (pb-loadgen) against nginx+nchan or pollbridge, in the
# background so that the script's trap can stop it, with `perf` around its
# measured window when PERF=1; the cluster runs (several pollbridge
# instances sharing a redis-server). Each run appends its JSON result to
# RESULTS; a failed run is recorded in failures.jsonl and the script goes on.
COMMON_ARGS=(--rate "$RATE" --payload "$PAYLOAD" --duration "$DURATION" --warmup "$WARMUP"
  --server-pid-file "$RUN_DIR/server.pids" --out "$RESULTS" --connect-timeout 120)

RUN_NO=0
run_loadgen() {  # run_loadgen ARGS...: in the background so the trap can stop it
  RUN_NO=$((RUN_NO + 1))
  RUN_LOG="$RUN_DIR/run-$RUN_NO.log"
  # Later arguments win: the run's own go after the common ones.
  local tls=()
  [[ $TLS_ON == 1 ]] && tls=(--tls)
  timeout "$RUN_TIMEOUT" "${NICE_CMD[@]}" "$LOADGEN" "${COMMON_ARGS[@]}" "${tls[@]}" "$@" \
    > /dev/null 2> "$RUN_LOG" &
  LOADGEN_PID=$!
}

wait_loadgen() {
  local rc=0
  wait "$LOADGEN_PID" || rc=$?
  LOADGEN_PID=""
  sed 's/^/    /' "$RUN_LOG" >&2
  cat "$RUN_LOG" >> "$RUN_DIR/loadgen.log"
  rm -f "$RUN_LOG"
  if [[ $rc != 0 ]]; then
    log "load client failed (status $rc)"
    echo "{\"event\":\"loadgen failed\",\"run\":$RUN_NO,\"status\":$rc}" >> "$OUT_DIR/failures.jsonl"
  fi
  return 0
}

# PERF=1: perf over the measured window of the current run. It starts when
# the load client says its clients are in place, then waits the idle sample
# (1 s), the warm-up and the pause after it, and records DURATION seconds.
start_profile() {  # start_profile TARGET RUN-ARGS...: only fan-out, TLS and long-poll runs
  [[ $PERF == 1 ]] || return 0
  local target=$1 log=$RUN_LOG data="$OUT_DIR/perf-run$RUN_NO-$1.data"
  shift
  case " $* " in *" --mode connect "* | *" --mode held "* | *" --mode upstream-count "*) return 0 ;; esac
  (
    for ((i = 0; i < 1200; i++)); do
      [[ -e $log ]] || exit 0  # the run ended (or failed) first
      grep -q "clients streaming after\|long-poll clients waiting" "$log" 2>/dev/null && break
      sleep 0.1
    done
    sleep "$(awk -v w="$WARMUP" 'BEGIN { print 1 + w + 0.6 }')"
    pids=$(tr -s ' \n' ',' < "$RUN_DIR/server.pids" | sed 's/,$//')
    [[ -n $pids ]] || exit 0
    # Syscalls over the same window: writes and epoll wake-ups per delivery.
    perf stat -x, -o "$OUT_DIR/perf-run$RUN_NO-$target.syscalls" -p "$pids" \
      -e syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_sendmsg \
      -e syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_futex \
      -e syscalls:sys_enter_read,syscalls:sys_enter_recvfrom \
      -- sleep "$DURATION" >/dev/null 2>&1 &
    perf record -q -g -p "$pids" -o "$data" -- sleep "$DURATION" >/dev/null 2>&1 || exit 0
    wait
    perf report -i "$data" --stdio --no-children -g none --sort dso,sym --percent-limit 0.5 \
      2>/dev/null | grep -v '^$' | cut -c1-160 | head -n 80 \
      > "$OUT_DIR/perf-run$RUN_NO-$target.txt" || true
  ) &
  PERF_PID=$!
}
wait_profile() {
  [[ -n $PERF_PID ]] || return 0
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=""
}

run_nchan() {  # run_nchan CLIENTS EXTRA...
  local n=$1 path=/sub
  shift
  for p in "$NCHAN_PORT" "$NCHAN_PLAIN_PORT"; do port_free "$p" || die "port $p is in use"; done
  log "nginx+nchan: $n clients $*"
  : > "$RUN_DIR/server.pids"
  start_nginx
  # Long-poll runs subscribe to the longpoll location.
  [[ " $* " == *" --mode longpoll "* ]] && path=/sub-lp
  # Compression runs: through nginx's gzip filter (nginx-nchan.conf.in).
  [[ $GZIP_ON == 1 ]] && path=/sub-gz
  run_loadgen --target nchan --port "$NCHAN_PORT" --path "$path" --clients "$n" "$@"
  start_profile nchan "$@"
  wait_loadgen
  wait_profile
  stop_nginx
}

run_pollbridge() {  # run_pollbridge CLIENTS INTERVAL EXTRA...
  local n=$1 interval=$2
  shift 2
  for p in "$PB_PORT" "$BACKEND_PORT"; do port_free "$p" || die "port $p is in use"; done
  log "pollbridge: $n clients, interval $interval $*"
  : > "$RUN_DIR/server.pids"
  write_pb_config "$interval"
  # The load client serves pollbridge's upstream: start it first, then
  # pollbridge; the load client waits for pollbridge's port.
  run_loadgen --target pollbridge --port "$PB_PORT" --path /events/bench --token "$TOKEN" \
    --backend-port "$BACKEND_PORT" --clients "$n" "$@" "${PB_EXTRA[@]}"
  if ! wait_port "$BACKEND_PORT" 10; then
    wait_loadgen
    return 0
  fi
  start_pollbridge
  start_profile pollbridge "$@"
  wait_loadgen
  wait_profile
  save_metrics "$OUT_DIR/pollbridge-metrics-run$RUN_NO.txt"
  stop_pollbridge
}

save_metrics() {  # save_metrics FILE: pollbridge's /metrics, for diagnosis (no curl needed)
  kill -0 "$PB_PID" 2>/dev/null || return 0
  { exec 3<>"/dev/tcp/127.0.0.1/$PB_PORT" &&
    printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 &&
    timeout 5 cat <&3 > "$1"; exec 3<&-; } 2>/dev/null || true
}

# Several instances: INSTANCES pollbridge processes on the first CLUSTER_PORTS,
# with a fresh redis-server when REDIS is 1 (no persistence, as docs/cluster.md
# advises), the clients spread over them by the load client.
run_cluster() {  # run_cluster CLIENTS INSTANCES REDIS LABEL
  local n=$1 count=$2 redis=$3 label=$4 ports=() p i state extra=()
  read -r -a ports <<< "$CLUSTER_PORTS"
  ports=("${ports[@]:0:$count}")
  for p in "${ports[@]}" "$BACKEND_PORT" "$REDIS_PORT"; do port_free "$p" || die "port $p is in use"; done
  log "cluster: $n clients over $count instance(s), redis $redis"
  state='  dir: ""'
  if [[ $redis == 1 ]]; then
    "${NICE_CMD[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
      --appendonly no --dir "$RUN_DIR" >> "$RUN_DIR/redis.log" 2>&1 &
    REDIS_PID=$!
    wait_port "$REDIS_PORT" 10 || die "redis-server did not start (see $RUN_DIR/redis.log)"
    state="  redis: \"redis://127.0.0.1:$REDIS_PORT/0\"\\n  lease: 3s\\n  prefix: \"bench$RUN_NO:\""
    extra=(--extra-pid "$REDIS_PID")
  fi
  : > "$RUN_DIR/server.pids"
  run_loadgen --target pollbridge --port "$(IFS=,; echo "${ports[*]}")" --path /events/bench \
    --token "$TOKEN" --backend-port "$BACKEND_PORT" --clients "$n" --label "cluster: $label" \
    "${extra[@]}"
  if wait_port "$BACKEND_PORT" 10; then
    PB_PIDS=()
    for p in "${ports[@]}"; do
      mkdir -p "$RUN_DIR/pb-$p"
      write_pb_config 60s "$p" "$RUN_DIR/pb-$p/pollbridge.yaml" "$state"
      (cd "$RUN_DIR/pb-$p" && exec "${NICE_CMD[@]}" "$POLLBRIDGE" --config pollbridge.yaml) \
        >> "$RUN_DIR/pollbridge-$p.log" 2>&1 &
      PB_PIDS+=($!)
    done
    echo "${PB_PIDS[*]}" > "$RUN_DIR/server.pids"
  fi
  wait_loadgen
  for i in "${!PB_PIDS[@]}"; do
    if ! kill -0 "${PB_PIDS[$i]}" 2>/dev/null; then
      log "cluster instance on ${ports[$i]} had exited before the end of the run"
      echo "{\"target\":\"pollbridge\",\"event\":\"cluster instance exited\",\"port\":${ports[$i]}}" \
        >> "$OUT_DIR/failures.jsonl"
    fi
    stop_pid "${PB_PIDS[$i]}"
  done
  PB_PIDS=()
  stop_pid "$REDIS_PID"
  REDIS_PID=""
}

run_target() {  # run_target TARGET CLIENTS EXTRA...
  local target=$1
  shift
  case "$target" in
    nchan) run_nchan "$@" ;;
    pollbridge) local n=$1; shift; run_pollbridge "$n" 60s "$@" ;;
  esac
}
