#!/usr/bin/env bash
# Failover time through Sentinel (docs/benchmarks.md, "Redis failover with
# Sentinel"): a master, a replica and three sentinels on loopback, one
# pollbridge with a redis+sentinel:// state.redis polling a backend whose
# body changes every 50 ms, and one SSE client. Each round freezes the
# document for half a second (so that nothing appended before is counted),
# kills the master (kill -9) and measures the time from the kill to the
# first event after it at the client; the killed node then comes back as a replica of the new
# master before the next round.
#
#   scripts/bench-failover.sh            5 rounds, down-after 1000 ms
#   ROUNDS=3 DOWN_AFTER=500 scripts/bench-failover.sh
#
# Environment: BUILD_DIR (default build/), ROUNDS (5), DOWN_AFTER (ms,
# 1000), FAILOVER_TIMEOUT (ms, 3000), INTERVAL (pollbridge's, ms, 100),
# KEEP=1 (keep the logs and configs; their folder is printed).
# Needs redis-server (scripts/deps.sh bench) and python3.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD="${BUILD_DIR:-$PWD/build}"
[ -x "$BUILD/pollbridge" ] || {
  echo "bench-failover: build pollbridge first ($BUILD/pollbridge)" >&2
  exit 1
}
command -v redis-server >/dev/null || {
  echo "bench-failover: redis-server is missing (scripts/deps.sh bench)" >&2
  exit 1
}

exec python3 - "$BUILD/pollbridge" "${ROUNDS:-5}" "${DOWN_AFTER:-1000}" \
  "${FAILOVER_TIMEOUT:-3000}" "${INTERVAL:-100}" <<'PY'
import http.client, http.server, json, os, platform, shutil, signal, socket
import statistics, subprocess, sys, tempfile, threading, time

binary, rounds, down_after, failover_timeout, interval = sys.argv[1], *map(int, sys.argv[2:])
NAME = "bench"
tmp = tempfile.mkdtemp(prefix="pb-failover-")
procs = []

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def redis(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True,
                          text=True, timeout=5).stdout.strip()

def wait(pred, timeout=20.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred(): return
        except Exception:
            pass
        time.sleep(0.02)
    raise SystemExit(f"bench-failover: timed out waiting for {what} (logs in {tmp})")

def start_node(port, replica_of=None):
    d = os.path.join(tmp, f"node{port}"); os.makedirs(d, exist_ok=True)
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", d, "--logfile", os.path.join(d, "log")]
    if replica_of: args += ["--replicaof", "127.0.0.1", str(replica_of)]
    p = subprocess.Popen(args); procs.append(p)
    wait(lambda: redis(port, "PING") == "PONG", what=f"redis on {port}")
    return p

# The backend: a document that changes every 50 ms, except while frozen
# (before a kill, so that every event after the kill was appended after it).
frozen = [None]
class Doc(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        tick = frozen[0] if frozen[0] is not None else int(time.time() * 20)
        body = json.dumps({"tick": tick}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Doc)
threading.Thread(target=backend.serve_forever, daemon=True).start()

try:
    ports = [free_port(), free_port()]
    nodes = {ports[0]: start_node(ports[0])}
    nodes[ports[1]] = start_node(ports[1], replica_of=ports[0])
    sentinels = []
    for i in range(3):
        sp = free_port(); conf = os.path.join(tmp, f"sentinel{i}.conf")
        with open(conf, "w") as f:
            f.write(f"port {sp}\nbind 127.0.0.1\ndir {tmp}\nlogfile {tmp}/sentinel{i}.log\n"
                    f"sentinel monitor {NAME} 127.0.0.1 {ports[0]} 2\n"
                    f"sentinel down-after-milliseconds {NAME} {down_after}\n"
                    f"sentinel failover-timeout {NAME} {failover_timeout}\n"
                    f"sentinel parallel-syncs {NAME} 1\n")
        procs.append(subprocess.Popen(["redis-server", conf, "--sentinel"]))
        sentinels.append(sp)
    def settled():
        for sp in sentinels:
            m = redis(sp, "SENTINEL", "master", NAME).split("\n")
            kv = dict(zip(m[::2], m[1::2]))
            if kv.get("num-other-sentinels") != "2" or kv.get("num-slaves") != "1": return False
            if "s_down" in kv.get("flags", "") or "o_down" in kv.get("flags", ""): return False
        return True
    wait(settled, 30, "the sentinels to know each other and the replica")
    master = lambda: int(redis(sentinels[0], "SENTINEL", "get-master-addr-by-name", NAME).split("\n")[1])

    cfg = os.path.join(tmp, "pollbridge.yaml")
    url = "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in sentinels) + f"/{NAME}/0"
    with open(cfg, "w") as f:
        f.write(f'server:\n  listen: "127.0.0.1:0"\n  heartbeat: 1s\nstate:\n  redis: "{url}"\n'
                f'  lease: 3s\nstreams:\n  - name: s\n    url: http://127.0.0.1:{backend.server_port}/doc\n'
                f"    interval: {interval}ms\n")
    log = open(os.path.join(tmp, "pollbridge.log"), "w+")
    pb = subprocess.Popen([binary, "--config", cfg], stderr=log, stdout=log); procs.append(pb)
    def listening():
        log.seek(0)
        for line in log.read().splitlines():
            if "listening" in line and "127.0.0.1:" in line:
                return int(line.split("127.0.0.1:")[1].split()[0].strip('"'))
    wait(lambda: listening(), what="pollbridge to listen")
    pb_port = listening()

    # The SSE client: a thread appending (arrival time, id) per event.
    events = []
    def client():
        c = http.client.HTTPConnection("127.0.0.1", pb_port, timeout=60)
        c.request("GET", "/events/s"); r = c.getresponse()
        for raw in r:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("id:"): events.append((time.monotonic(), line[3:].strip()))
    threading.Thread(target=client, daemon=True).start()
    wait(lambda: len(events) > 5, what="events at the client")

    # When Sentinel announces each switch (+switch-master on one sentinel):
    # the part of the failover that is Sentinel's own.
    switches = []
    def listen_switches():
        s = socket.create_connection(("127.0.0.1", sentinels[1]))
        s.sendall(b"SUBSCRIBE +switch-master\r\n")
        buf = b""
        while True:
            data = s.recv(4096)
            if not data: return
            buf += data
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                if line.startswith(NAME.encode() + b" "): switches.append(time.monotonic())
    threading.Thread(target=listen_switches, daemon=True).start()
    time.sleep(0.2)

    times, sentinel_times = [], []
    for r in range(rounds):
        m = master(); other = [p for p in ports if p != m][0]
        wait(lambda: "state=online" in redis(m, "INFO", "replication"), what="replica in sync")
        wait(settled, 30, "the sentinels to settle")
        frozen[0] = -1 - r
        time.sleep(0.5)  # the last change reaches the client
        n_before = len(events)
        t0 = time.monotonic()
        nodes[m].send_signal(signal.SIGKILL); nodes[m].wait()
        frozen[0] = None
        wait(lambda: any(t > t0 for t, _ in events[n_before:]), 60, "the first event after the kill")
        first = next(t for t, _ in events[n_before:] if t > t0)
        times.append(first - t0)
        wait(lambda: any(t > t0 for t in switches), 10, "+switch-master")
        switched = next(t for t in switches if t > t0)
        sentinel_times.append(switched - t0)
        print(f"round {r + 1}: first event {1000 * (first - t0):.0f} ms after the kill; "
              f"+switch-master at {1000 * (switched - t0):.0f} ms; pollbridge's part "
              f"{1000 * (first - switched):.0f} ms (master {m} -> {master()})", flush=True)
        nodes[m] = start_node(m, replica_of=other)
    cpu = "?"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except Exception:
        pass
    print(f"\nfailover, kill -9 of the master to the first event after it, {rounds} rounds:")
    print(f"  median {1000 * statistics.median(times):.0f} ms, worst {1000 * max(times):.0f} ms")
    own = [a - b for a, b in zip(times, sentinel_times)]
    print(f"  of which Sentinel (kill to +switch-master): median "
          f"{1000 * statistics.median(sentinel_times):.0f} ms, worst {1000 * max(sentinel_times):.0f} ms")
    print(f"  and pollbridge (+switch-master to the event): median "
          f"{1000 * statistics.median(own):.0f} ms, worst {1000 * max(own):.0f} ms")
    print(f"  down-after-milliseconds {down_after}, failover-timeout {failover_timeout}, "
          f"quorum 2 of 3 sentinels, poll interval {interval} ms, state.lease 3s")
    print(f"  machine: {cpu}, {os.cpu_count()} CPUs, {platform.platform()}")
finally:
    for p in reversed(procs):
        if p.poll() is None: p.kill()
    for p in procs:
        try: p.wait(timeout=5)
        except Exception: pass
    backend.shutdown()
    if os.environ.get("KEEP") == "1":
        print(f"  kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
PY
