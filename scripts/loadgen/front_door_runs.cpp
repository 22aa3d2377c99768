#include "front_door_runs.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "held.h"
#include "longpoll_pool.h"  // find_last_id
#include "proc_stats.h"
#include "publisher.h"  // monotonic_ns

namespace pbl {
namespace {

using nlohmann::json;

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

json sample_json(const ProcSample& s) {
  return json{{"rss_kib", s.rss_kib}, {"pss_kib", s.pss_kib}, {"threads", s.threads}, {"ok", s.ok}};
}

}  // namespace

json run_connect_rate(const FrontDoorRun& run) {
  std::vector<double> rounds;
  std::size_t connected_min = run.pool.clients;
  std::string last_error;
  static const std::atomic<std::uint64_t> kNoSeq{0};
  for (int r = 0; r < run.repeat; ++r) {
    ClientPool pool(run.pool, kNoSeq);
    std::string error;
    if (!pool.init(error)) return json{{"error", error}};
    const std::int64_t t0 = monotonic_ns();
    pool.connect_all();
    const std::int64_t end = t0 + 120 * 1000000000LL;
    while (pool.streaming() < run.pool.clients && monotonic_ns() < end) pool.poll(5);
    const double s = static_cast<double>(monotonic_ns() - t0) / 1e9;
    connected_min = std::min(connected_min, pool.streaming());
    if (!pool.last_error().empty()) last_error = pool.last_error();
    rounds.push_back(s);
    std::cerr << "  connect round " << r + 1 << ": " << pool.streaming() << "/" << run.pool.clients
              << " in " << s << " s\n";
    pool.close_all();
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the server lets go
  }
  json out{{"rounds_s", rounds}, {"median_s", median(rounds)}, {"connected_min", connected_min}};
  if (!last_error.empty()) out["last_error"] = last_error;
  return out;
}

json run_held(const FrontDoorRun& run) {
  HeldOptions h;
  h.host = run.pool.host;
  h.port = run.pool.port;
  h.idle = run.pool.clients / 2;
  h.slow = run.pool.clients - h.idle;
  h.src_addrs = run.pool.src_addrs;
  h.concurrency = run.pool.connect_concurrency;
  const std::string host = "Host: " + run.pool.host + ":" + std::to_string(run.pool.port) + "\r\n";
  h.idle_request = "GET " + run.idle_path + " HTTP/1.1\r\n" + host + "\r\n";
  h.slow_request = "GET " + run.idle_path + " HTTP/1.1\r\n" + host + "X-Slowloris: ";
  h.sse_request = "GET " + run.pool.path + " HTTP/1.1\r\n" + host +
                  "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n";
  HeldConnections held(h);
  json out;
  // A newcomer with nothing held, for reference.
  std::vector<double> alone;
  for (int i = 0; i < run.newcomers; ++i) alone.push_back(held.newcomer_ms());
  out["newcomer_alone_ms"] = alone;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const ProcSample before = sample_processes(run.server_pids);
  out["server_before"] = sample_json(before);
  std::string error;
  if (!held.open(error)) out["error"] = error;
  out["setup_s"] = held.setup_s();
  out["idle_held"] = held.idle_ready();
  out["slow_held"] = held.slow_ready();
  std::this_thread::sleep_for(std::chrono::duration<double>(run.settle_s));
  const ProcSample with = sample_processes(run.server_pids);
  out["server_held"] = sample_json(with);
  const std::size_t n = held.idle_ready() + held.slow_ready();
  if (before.ok && with.ok && n > 0) {
    out["rss_per_held_kib"] =
        static_cast<double>(with.rss_kib - before.rss_kib) / static_cast<double>(n);
    out["pss_per_held_kib"] =
        static_cast<double>(with.pss_kib - before.pss_kib) / static_cast<double>(n);
  }
  std::vector<double> times;
  for (int i = 0; i < run.newcomers; ++i) {
    times.push_back(held.newcomer_ms());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  out["newcomer_ms"] = times;
  out["newcomer_median_ms"] = median(times);
  out["newcomer_max_ms"] = *std::max_element(times.begin(), times.end());
  out["server_after"] = sample_json(sample_processes(run.server_pids));
  out["still_open"] = held.still_open();
  std::cerr << "  held " << n << " (" << held.idle_ready() << " idle, " << held.slow_ready()
            << " slowloris) in " << held.setup_s() << " s; newcomer median "
            << out["newcomer_median_ms"].get<double>() << " ms; still open " << held.still_open()
            << "\n";
  return out;
}

namespace {

// `n` connections that each sent `request` and then wait for an answer that
// does not come; the server's RSS and threads before and with them held.
json hold_batch(const FrontDoorRun& run, const std::string& request, const char* what) {
  HeldOptions h;
  h.host = run.pool.host;
  h.port = run.pool.port;
  h.slow = run.waiting;  // "slow": sent, then nothing more from either side
  h.slow_request = request;
  h.src_addrs = run.pool.src_addrs;
  h.concurrency = run.pool.connect_concurrency;
  const ProcSample before = sample_processes(run.server_pids);
  json out;
  {
    HeldConnections held(h);
    std::string error;
    if (!held.open(error)) out["error"] = error;
    out["held"] = held.slow_ready();
    out["setup_s"] = held.setup_s();
    std::this_thread::sleep_for(std::chrono::duration<double>(run.settle_s));
    const ProcSample with = sample_processes(run.server_pids);
    out["server_before"] = sample_json(before);
    out["server_held"] = sample_json(with);
    if (before.ok && with.ok && held.slow_ready() > 0) {
      out["rss_per_held_kib"] = static_cast<double>(with.rss_kib - before.rss_kib) /
                                static_cast<double>(held.slow_ready());
      out["pss_per_held_kib"] = static_cast<double>(with.pss_kib - before.pss_kib) /
                                static_cast<double>(held.slow_ready());
    }
    // Waiting long-polls: none answered yet (an answer means the server did
    // not park it). SSE subscribers may have their first bytes: not counted.
    out["still_open"] = held.still_open();
    std::cerr << "  " << what << ": " << held.slow_ready() << " held in " << held.setup_s()
              << " s, server threads " << before.threads << " -> " << with.threads << ", RSS "
              << (with.rss_kib - before.rss_kib) << " KiB; still waiting " << held.still_open()
              << "\n";
  }
  // The server lets go of the closed connections before the next batch.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  out["server_after"] = sample_json(sample_processes(run.server_pids));
  return out;
}

}  // namespace

json run_held_waiting(const FrontDoorRun& run) {
  const std::string host = "Host: " + run.pool.host + ":" + std::to_string(run.pool.port) + "\r\n";
  // pollbridge's defaults: the stream the newcomers use.
  std::string path =
      run.longpoll_path.empty() ? run.pool.path + "?transport=long-poll" : run.longpoll_path;
  const std::string sse_path = run.sse_path.empty() ? run.pool.path : run.sse_path;
  json out;
  if (run.longpoll_position) {
    // pollbridge: the newest position, from a first long-poll (the snapshot).
    const std::string body =
        fetch_once(run.pool.host, run.pool.port, "GET " + path + " HTTP/1.1\r\n" + host + "\r\n");
    const std::string id = find_last_id(body);
    if (id.empty()) {
      out["error"] = "no last_id from " + path;
      return out;
    }
    path += "&lastEventId=" + id;
  }
  out["longpoll_path"] = path;
  out["waiting"] =
      hold_batch(run, "GET " + path + " HTTP/1.1\r\n" + host + "\r\n", "waiting long-polls");
  out["sse"] = hold_batch(run,
                          "GET " + sse_path + " HTTP/1.1\r\n" + host +
                              "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
                          "idle SSE subscribers");
  return out;
}

}  // namespace pbl
