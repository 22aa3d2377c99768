# Part of scripts/bench-fanout.sh (sourced by it, never run alone): the
# servers under test. nginx+nchan from scripts/bench/nginx-nchan.conf.in,
# pollbridge from scripts/bench/pollbridge.yaml.in, each started on its port
# and stopped by PID (stop_pid, the script's cleanup). Uses the script's
# settings (RUN_DIR, ports, TLS_ON, GZIP_ON, NICE_CMD, ...).
wait_port() {  # wait_port PORT SECONDS
  local port=$1 t=$(( $2 * 10 )) i
  for ((i = 0; i < t; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_nginx() {
  local prefix="$RUN_DIR/nginx" i
  rm -rf "$prefix"
  mkdir -p "$prefix/tmp"
  local ssl="" ssl_conf=""
  if [[ $TLS_ON == 1 ]]; then
    ssl="ssl"
    ssl_conf="ssl_certificate $CERT; ssl_certificate_key $KEY; ssl_protocols TLSv1.2 TLSv1.3; ssl_prefer_server_ciphers on; ssl_session_tickets on;"
  fi
  # The gzip proxy (/sub-gz) reads /sub over plain HTTP: from a second,
  # plain listener when the subscribers' port speaks TLS.
  local plain_listen="" proxy_port=$NCHAN_PORT
  if [[ $TLS_ON == 1 ]]; then
    plain_listen="listen 127.0.0.1:$NCHAN_PLAIN_PORT backlog=$BACKLOG;"
    proxy_port=$NCHAN_PLAIN_PORT
  fi
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$NCHAN_PORT|g" -e "s|@NOFILE@|$FD_LIMIT|g" \
    -e "s|@WORKER_CONNECTIONS@|$((FD_LIMIT - 64))|g" -e "s|@BACKLOG@|$BACKLOG|g" \
    -e "s|@SSL@|$ssl|g" -e "s|@SSL_CONF@|$ssl_conf|g" \
    -e "s|@PLAIN_LISTEN@|$plain_listen|g" -e "s|@PROXY_PORT@|$proxy_port|g" \
    "$BENCH_DIR/nginx-nchan.conf.in" > "$prefix/nginx.conf"
  "${NICE_CMD[@]}" nginx -p "$prefix" -c "$prefix/nginx.conf" -g 'daemon off;' >> "$RUN_DIR/nginx.log" 2>&1 &
  NGINX_PID=$!
  wait_port "$NCHAN_PORT" 10 || die "nginx did not start (see $RUN_DIR/nginx.log, $prefix/error.log)"
  # The workers are what serves subscribers: sample those.
  for ((i = 0; i < 50; i++)); do
    pgrep -P "$NGINX_PID" > "$RUN_DIR/server.pids" || true
    [[ $(wc -l < "$RUN_DIR/server.pids") -ge 2 ]] && break
    sleep 0.1
  done
}

stop_nginx() {
  cat "$RUN_DIR/nginx/error.log" >> "$RUN_DIR/nginx.log" 2>/dev/null || true
  stop_pid "$NGINX_PID"
  NGINX_PID=""
}

write_pb_config() {  # write_pb_config INTERVAL [PORT FILE STATE]
  local tls="" port=${2:-$PB_PORT} file=${3:-$RUN_DIR/pollbridge.yaml}
  local state=${4:-'  dir: ""'} extra=""
  # The compression runs' orders stream: the same backend document, as
  # the example's orders stream sends it (json-patch).
  [[ $GZIP_ON == 1 ]] && extra="  - name: orders\\n    url: http://127.0.0.1:$BACKEND_PORT/doc\\n    diff: json-patch\\n    interval: $1\\n    history: 1000"
  [[ $TLS_ON == 1 ]] && tls="  tls: { cert: \"$CERT\", key: \"$KEY\" }"
  sed -e "s|@PORT@|$port|g" -e "s|@BACKEND_PORT@|$BACKEND_PORT|g" -e "s|@TOKEN@|$TOKEN|g" \
    -e "s|@INTERVAL@|$1|g" -e "s|@BACKLOG@|$BACKLOG|g" -e "s|@TLS@|$tls|g" \
    -e "s|@STATE@|$state|g" -e "s|@EXTRA_STREAMS@|$extra|g" "$BENCH_DIR/pollbridge.yaml.in" > "$file"
}

start_pollbridge() {
  (cd "$RUN_DIR" && exec "${NICE_CMD[@]}" "$POLLBRIDGE" --config "$RUN_DIR/pollbridge.yaml") \
    >> "$RUN_DIR/pollbridge.log" 2>&1 &
  PB_PID=$!
  echo "$PB_PID" > "$RUN_DIR/server.pids"
}

stop_pollbridge() {
  local rc=0
  if [[ -n $PB_PID ]] && ! kill -0 "$PB_PID" 2>/dev/null; then
    wait "$PB_PID" 2>/dev/null || rc=$?
    log "pollbridge had exited (status $rc) before the end of the run; see pollbridge.log"
    echo "{\"target\":\"pollbridge\",\"event\":\"exited\",\"status\":$rc}" >> "$OUT_DIR/failures.jsonl"
  fi
  stop_pid "$PB_PID"
  PB_PID=""
}
