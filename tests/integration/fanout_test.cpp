// ctest-labels: threaded
// Fan-out through the real binary: the pollbridge process does not grow a
// thread per SSE client, and a client that stops reading is dropped by the
// proxy while a reading client on the same stream receives every event.
//
// The suite is named FanoutHub* so that the TSan stage (ctest -R 'Hub|...')
// runs it too.
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <atomic>
#include <fstream>
#include <regex>

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

// Threads of a process, from /proc/<pid>/status; -1 if unreadable.
int thread_count(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return -1;
}

// The test holds one fd per client and so does the proxy (it inherits this
// limit).
void raise_fd_limit(rlim_t want) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want) return;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
  setrlimit(RLIMIT_NOFILE, &rl);
}

// A value from /metrics, e.g. `pollbridge_clients_evicted_total{reason="slow"}`;
// -1 if absent.
double metric(int port, const std::string& series) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/metrics");
  if (!r || r->status != 200) return -1;
  std::size_t at = 0;
  while ((at = r->body.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || r->body[at - 1] == '\n') return std::atof(r->body.c_str() + at + series.size());
    at += series.size();
  }
  return -1;
}

// A client that sends its request and then never reads: its receive buffer
// is made small so that the proxy's writes back up quickly.
class StuckClient {
 public:
  StuckClient(int port, const std::string& target) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ADD_FAILURE() << "connect: " << strerror(errno);
      return;
    }
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    EXPECT_EQ(::send(fd_, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  }
  ~StuckClient() { ::close(fd_); }

  // Reads (and discards) until the proxy's FIN or RST; true if it came.
  bool wait_dropped(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char chunk[1 << 16];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n == 0) return true;
      if (n < 0 && errno != EINTR && errno != EAGAIN) return true;  // ECONNRESET
      if (n > 0) received_ += static_cast<std::size_t>(n);
    }
    return false;
  }
  std::size_t received() const { return received_; }

 private:
  int fd_ = -1;
  std::size_t received_ = 0;
};

TEST(FanoutHubTest, ThreadCountIsTheSameWithNoneAHundredAndAThousandClients) {
  raise_fd_limit(4096);
  FakeBackend backend;
  backend.set_body(padded(R"({"v":0})"));
  ProxyProcess proxy(one_stream_config(backend.url()));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  httplib::Client admin("127.0.0.1", proxy.port());
  ASSERT_TRUE(wait_until([&] {
    auto r = admin.Get("/readyz");
    return r && r->status == 200;
  })) << "the stream never became ready";
  const int idle = thread_count(proxy.pid());
  ASSERT_GT(idle, 0);

  std::vector<std::unique_ptr<SseClient>> clients;
  auto connect_up_to = [&](std::size_t n) {
    while (clients.size() < n) {
      clients.push_back(std::make_unique<SseClient>(proxy.port(), "/events/s"));
      ASSERT_EQ(clients.back()->status(), 200) << "client " << clients.size();
    }
    // Each one has its snapshot: it is served by the hub, not a request thread.
    for (auto& c : clients) {
      if (c->last_event_id().empty()) {
        ASSERT_TRUE(c->next()) << "snapshot";
      }
    }
  };
  connect_up_to(100);
  EXPECT_EQ(thread_count(proxy.pid()), idle) << "with 100 clients";
  connect_up_to(1000);
  EXPECT_EQ(thread_count(proxy.pid()), idle) << "with 1,000 clients";
  EXPECT_EQ(metric(proxy.port(), "pollbridge_clients"), 1000);
  // All of them are live: one change reaches each.
  backend.set_body(padded(R"({"v":1})"));
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto ev = clients[i]->next(10s);
    ASSERT_TRUE(ev) << "client " << i;
    EXPECT_EQ(ev->type, "patch");
  }
  EXPECT_EQ(thread_count(proxy.pid()), idle) << "after an event to 1,000 clients";
}

TEST(FanoutHubTest, ClientThatStopsReadingIsDroppedWhileOthersGetEveryEvent) {
  // Every poll answers a new 200 KB document, so every poll makes an event
  // of about that size.
  auto body_for = [](std::int64_t n) {
    std::string blob(200000, 'a');
    for (std::size_t i = 0; i < blob.size(); i += 97) {
      blob[i] = static_cast<char>('a' + (static_cast<std::size_t>(n) + i) % 26);
    }
    return "{\"n\":" + std::to_string(n) + ",\"blob\":\"" + blob + "\"}";
  };
  std::atomic<int> version{0};
  FakeBackend backend;
  backend.set_handler([&](const httplib::Request&, httplib::Response& res) {
    res.set_content(body_for(++version), "application/json");
  });
  ProxyProcess proxy(
      "server:\n"
      "  listen: \"127.0.0.1:0\"\n"
      "  heartbeat: 1s\n"
      "  client_backlog_bytes: 1MiB\n"
      "history: 100\n"
      "state: { dir: \"\" }\n"
      "streams:\n"
      "  - name: s\n"
      "    url: " +
      backend.url() +
      "\n"
      "    interval: 50ms\n"
      "    timeout: 5s\n");
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();

  SseClient reader(proxy.port(), "/events/s");
  ASSERT_EQ(reader.status(), 200);
  auto snap = reader.next(10s);
  ASSERT_TRUE(snap);
  ASSERT_EQ(snap->type, "snapshot");
  Json doc = json::parse(snap->data);
  auto first_id = sse::parse_event_id(snap->id);
  ASSERT_TRUE(first_id) << snap->id;
  std::uint64_t seq = first_id->seq;

  StuckClient stuck(proxy.port(), "/events/s");
  const std::string slow = "pollbridge_clients_evicted_total{reason=\"slow\"}";
  // Read on until the stuck client has been dropped and 5 more events came.
  int events = 0;
  int after_drop = -1;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (after_drop < 5) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "the stuck client was not dropped after " << events << " events";
    auto ev = reader.next(10s);
    ASSERT_TRUE(ev) << "the reading client stopped receiving after " << events << " events";
    ++events;
    // The blob changes throughout: a patch would replace it whole and be
    // larger than the document, so each change comes as a snapshot.
    ASSERT_EQ(ev->type, "snapshot") << ev->data.substr(0, 200);
    auto id = sse::parse_event_id(ev->id);
    ASSERT_TRUE(id) << ev->id;
    EXPECT_EQ(id->epoch, first_id->epoch);
    ASSERT_EQ(id->seq, seq + 1) << "gap or duplicate after event " << ev->id;
    seq = id->seq;
    // It is exactly the backend's document.
    std::int64_t n_before = doc["n"].get<std::int64_t>();
    doc = json::parse(ev->data);
    std::int64_t n = doc["n"].get<std::int64_t>();
    ASSERT_GT(n, n_before);
    ASSERT_TRUE(json::equal(doc, json::parse(body_for(n)))) << "after event " << ev->id;
    if (after_drop >= 0) {
      ++after_drop;
    } else if (metric(proxy.port(), slow) > 0) {
      after_drop = 0;
    }
  }
  EXPECT_TRUE(stuck.wait_dropped(10s)) << "the stuck client's connection stayed open";
  EXPECT_EQ(metric(proxy.port(), "pollbridge_clients"), 1);
  EXPECT_EQ(metric(proxy.port(), slow), 1);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
