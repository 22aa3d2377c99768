// ctest-labels: threaded
// A bounded stress run through the real binary (built with the sanitizers in
// their stages): PB_STRESS_SECONDS (default 30) of reloads, client churn on
// plain, parameterized and multiplexed streams, and parameter values that
// come and go, while every upstream document keeps changing. Afterwards:
//  * every document a client reconstructed was one the upstream served;
//  * after the upstream stops changing, fresh clients reconstruct exactly
//    the upstream's documents;
//  * no id was ever issued twice (one id, one content, across all clients);
//  * the process's descriptors are back at their baseline, and its RSS and
//    SQLite files are flat after the warm-up.
#include <httplib.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "diff/json_patch.h"
#include "json/document.h"
#include "sse/event_id.h"
#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using json::Json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

int stress_seconds() {
  const char* s = std::getenv("PB_STRESS_SECONDS");
  return s && *s ? std::max(5, std::atoi(s)) : 30;
}

long proc_value(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atol(line.c_str() + key.size() + 1);
  }
  return -1;
}

std::size_t open_fds(pid_t pid) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

std::uintmax_t state_bytes(const std::string& dir) {
  std::uintmax_t total = 0;
  for (const char* f : {"pollbridge.db", "pollbridge.db-wal"}) {
    std::error_code ec;
    auto s = fs::file_size(dir + "/" + f, ec);
    if (!ec) total += s;
  }
  return total;
}

// The upstream: one document per path, changed by the test; every version
// served is remembered, so that a client's document can be checked against
// what really existed.
class Upstream {
 public:
  explicit Upstream(FakeBackend& b) : backend_(b) {
    backend_.set_handler([this](const httplib::Request& req, httplib::Response& res) {
      res.set_content(doc(req.path), "application/json");
    });
  }
  std::string doc(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    auto& v = version_[path];
    std::string d = render(path, v);
    served_[path].insert(json::dump(json::parse(d)));
    return d;
  }
  void change_all() {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [p, v] : version_) ++v;
  }
  bool was_served(const std::string& path, const Json& doc) {
    std::lock_guard<std::mutex> l(mu_);
    return served_[path].count(json::dump(doc)) != 0;
  }
  std::string current(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    return json::dump(json::parse(render(path, version_[path])));
  }

 private:
  static std::string render(const std::string& path, int v) {
    // Keyed items that move, appear and go, so patches have real work.
    std::string items;
    for (int k = 0; k < 6; ++k) {
      int id = (v + k * 3) % 10;
      items += (k ? "," : "") + std::string("{\"id\":") + std::to_string(id) +
               ",\"n\":" + std::to_string(v * 7 + k) + "}";
    }
    // The note never changes: it keeps the document larger than a patch of
    // it, so changes go out as patches (no event is larger than the snapshot).
    return "{\"path\":\"" + path + "\",\"v\":" + std::to_string(v) + ",\"items\":[" + items +
           "],\"note\":\"" + std::string(600, '.') + "\"}";
  }

  FakeBackend& backend_;
  std::mutex mu_;
  std::map<std::string, int> version_;
  std::map<std::string, std::set<std::string>> served_;
};

// What every client saw: an id must always carry the same event.
class Ledger {
 public:
  void record(const std::string& stream, const SseEvent& ev, const std::string& inner) {
    if (!ev.had_id || ev.type == "snapshot") return;  // snapshots repeat the doc's id
    std::lock_guard<std::mutex> l(mu_);
    auto [it, fresh] = seen_.try_emplace(stream + " " + ev.id, ev.type + " " + inner);
    if (!fresh && it->second != ev.type + " " + inner) {
      conflicts_.push_back(stream + " " + ev.id + ": " + it->second + " / " + ev.type + " " +
                           inner);
    }
  }
  void problem(const std::string& p) {
    std::lock_guard<std::mutex> l(mu_);
    problems_.push_back(p);
  }
  std::vector<std::string> conflicts() {
    std::lock_guard<std::mutex> l(mu_);
    return conflicts_;
  }
  std::vector<std::string> problems() {
    std::lock_guard<std::mutex> l(mu_);
    return problems_;
  }
  std::size_t ids() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_.size();
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> seen_;
  std::vector<std::string> conflicts_;
  std::vector<std::string> problems_;
};

// Follows one connection (one stream, or a mux set), applying its events.
void follow(int port, const std::vector<std::string>& streams, std::chrono::milliseconds how_long,
            Upstream& up, Ledger& ledger, std::map<std::string, Json>* final_docs = nullptr) {
  std::string target;
  bool mux = streams.size() > 1;
  if (mux) {
    for (std::size_t i = 0; i < streams.size(); ++i) {
      target += (i ? "&stream=" : "/events?stream=") + streams[i];
    }
  } else {
    target = "/events/" + streams[0];
  }
  SseClient c(port, target);
  if (c.status() == 503) return;  // being replaced or at a limit: fine, retried later
  if (c.status() != 200) {
    ledger.problem(target + ": HTTP " + std::to_string(c.status()));
    return;
  }
  std::map<std::string, Json> docs;
  auto until = std::chrono::steady_clock::now() + how_long;
  while (std::chrono::steady_clock::now() < until) {
    auto ev = c.next(100ms);
    if (!ev) {
      if (c.eof()) break;  // closed by a reload: a client reconnects
      continue;
    }
    std::string stream = streams[0];
    Json data;
    try {
      data = json::parse(ev->data);
    } catch (const std::exception& e) {
      ledger.problem(target + ": unparseable data " + ev->data);
      return;
    }
    if (mux) {
      stream = data["stream"].get<std::string>();
      data = data["data"];
    }
    std::string member_id = ev->id;
    if (mux && ev->had_id) {
      auto parts = sse::split_composite(ev->id);
      auto at = std::find(streams.begin(), streams.end(), stream) - streams.begin();
      member_id = static_cast<std::size_t>(at) < parts.size() ? parts[at] : "";
    }
    SseEvent member = *ev;
    member.id = member_id;
    ledger.record(stream, member, json::dump(data));
    try {
      if (ev->type == "snapshot") {
        docs[stream] = data;
      } else if (ev->type == "patch") {
        if (!docs.count(stream)) {
          ledger.problem(target + ": patch before snapshot");
          return;
        }
        diff::apply_json_patch(docs[stream], data);
      } else {
        continue;  // status
      }
    } catch (const std::exception& e) {
      ledger.problem(target + ": patch does not apply: " + e.what());
      return;
    }
    std::string path = "/" + stream;
    if (!up.was_served(path, docs[stream])) {
      ledger.problem(target + ": document never served: " + json::dump(docs[stream]));
      return;
    }
  }
  if (final_docs) *final_docs = docs;
}

TEST(StressTest, ReloadsAndClientChurnKeepEveryDocumentAndIdRight) {
  FakeBackend backend;
  Upstream up(backend);
  TempDir dir;
  std::string state = dir.file("state");
  auto write_config = [&](int generation) {
    std::string url = backend.url("");
    std::string yaml =
        "server:\n  listen: \"127.0.0.1:0\"\n  heartbeat: 1s\n  retry: 200ms\n"
        "  admin_token: t\n  shutdown_timeout: 3s\n"
        "history: 200\nstate: { dir: \"" +
        state + "\" }\nstreams:\n" + "  - name: a\n    url: " + url +
        "/a\n    interval: 20ms\n    diff: json-patch\n    key: id\n" +
        (generation % 2 ? "    max_body: 2MiB\n" : "") + "  - name: b\n    url: " + url +
        "/b\n    interval: 30ms\n" + "  - name: p\n    url: " + url +
        "/p/{id}\n    path: /events/p/{id}\n    params: { id: \"[0-9]+\" }\n"
        "    interval: 25ms\n    idle: stop\n    linger: 0s\n    retention: 1s\n" +
        (generation % 3 == 2 ? "    timeout: 3s\n" : "");
    dir.write("pb.yaml", yaml);
  };
  write_config(0);
  auto proxy = ProxyProcess::from_file(dir.file("pb.yaml"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  const int port = proxy.port();

  std::atomic<bool> stop{false};
  Ledger ledger;
  std::thread changer([&] {
    while (!stop) {
      up.change_all();
      std::this_thread::sleep_for(15ms);  // pacing: the upstream changes every 15 ms
    }
  });
  std::atomic<int> reloads{0};
  std::thread reloader([&] {
    httplib::Client h("127.0.0.1", port);
    for (int g = 1; !stop; ++g) {
      std::this_thread::sleep_for(400ms);  // pacing: a reload every 400 ms
      write_config(g);
      auto r = h.Post("/admin/reload", {{"Authorization", "Bearer t"}}, "", "");
      if (r && r->status == 200) ++reloads;
    }
  });
  std::atomic<int> sessions{0};
  std::vector<std::thread> churners;
  for (int t = 0; t < 4; ++t) {
    churners.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      while (!stop) {
        std::vector<std::string> streams;
        switch (rng() % 5) {
          case 0:
            streams = {"a"};
            break;
          case 1:
            streams = {"b"};
            break;
          case 2:
            streams = {"p/" + std::to_string(rng() % 12)};
            break;
          case 3:
            streams = {"a", "b"};
            break;
          default:
            streams = {"b", "p/" + std::to_string(rng() % 12)};
            break;
        }
        follow(port, streams, std::chrono::milliseconds(100 + rng() % 400), up, ledger);
        ++sessions;
      }
    });
  }

  const int seconds = stress_seconds();
  const int warm = std::min(8, seconds / 3);
  // The run itself: a warm-up, then the measured window (memory, state).
  std::this_thread::sleep_for(std::chrono::seconds(warm));
  long rss_warm = proc_value(proxy.pid(), "VmRSS");
  std::uintmax_t db_warm = state_bytes(state);
  std::this_thread::sleep_for(std::chrono::seconds(seconds - warm));
  stop = true;
  for (auto& t : churners) t.join();
  reloader.join();
  changer.join();
  long rss_end = proc_value(proxy.pid(), "VmRSS");
  std::uintmax_t db_end = state_bytes(state);

  // Quiescent: fresh clients reconstruct exactly what the upstream serves.
  for (const auto& s : std::vector<std::string>{"a", "b", "p/3"}) {
    std::map<std::string, Json> docs;
    follow(port, {s}, 1500ms, up, ledger, &docs);
    ASSERT_TRUE(docs.count(s)) << s;
    EXPECT_EQ(json::dump(docs[s]), up.current("/" + s)) << s;
  }
  std::map<std::string, Json> mux_docs;
  follow(port, {"a", "b"}, 1500ms, up, ledger, &mux_docs);
  EXPECT_EQ(json::dump(mux_docs["a"]), up.current("/a"));
  EXPECT_EQ(json::dump(mux_docs["b"]), up.current("/b"));

  for (const auto& p : ledger.problems()) ADD_FAILURE() << p;
  for (const auto& c : ledger.conflicts()) ADD_FAILURE() << "id issued twice: " << c;
  EXPECT_GT(reloads.load(), seconds);
  EXPECT_GT(sessions.load(), 50);
  EXPECT_GT(ledger.ids(), 100u);

  // Descriptors: idle parameter instances are reaped (linger 0) and their
  // upstream connections closed; what is left is the listener, the store,
  // the plain streams' connections and the fixed threads' descriptors.
  std::size_t fds_baseline = 0;
  {
    // A fresh process on the same config, idle, is the baseline.
    TempDir other;
    other.write("pb.yaml", [&] {
      std::ifstream in(dir.file("pb.yaml"));
      std::stringstream ss;
      ss << in.rdbuf();
      std::string y = ss.str();
      return y.replace(y.find(state), state.size(), other.file("state"));
    }());
    auto fresh = ProxyProcess::from_file(other.file("pb.yaml"));
    ASSERT_TRUE(fresh.started());
    ASSERT_TRUE(wait_until([&] { return open_fds(fresh.pid()) >= 5; }));
    std::this_thread::sleep_for(1s);  // settling: its first polls open their connections
    fds_baseline = open_fds(fresh.pid());
  }
  EXPECT_TRUE(wait_until([&] { return open_fds(proxy.pid()) <= fds_baseline + 2; }, 10s))
      << open_fds(proxy.pid()) << " descriptors open, baseline " << fds_baseline;
  // Under a sanitizer the allocator keeps freed memory (ASan's quarantine,
  // TSan's shadow), so RSS says nothing there; the plain build checks it.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  EXPECT_LT(rss_end, rss_warm * 3 / 2 + 16 * 1024) << "RSS grew from " << rss_warm << " kB";
#endif
  EXPECT_LT(db_end, db_warm * 2 + (4u << 20)) << "state grew from " << db_warm << " bytes";
  RecordProperty("sessions", sessions.load());
  RecordProperty("reloads", reloads.load());
  std::cerr << "stress: " << seconds << " s, " << sessions.load() << " client sessions, "
            << reloads.load() << " reloads, " << ledger.ids() << " ids checked, RSS " << rss_warm
            << " -> " << rss_end << " kB, state " << db_warm << " -> " << db_end << " bytes, fds "
            << open_fds(proxy.pid()) << " (baseline " << fds_baseline << ")\n";
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
