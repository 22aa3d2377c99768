// ctest-labels: threaded
// Every poll is bounded, tried from outside with hostile upstreams on raw
// sockets beside a healthy one, through the real binary: each bad stream
// goes stale within its timeout plus a small margin with a reason that names
// the bound it hit, the healthy stream keeps its interval, memory stays
// bounded, and neither a reload nor SIGTERM waits for a stuck poll.
//
// The two load tests (2,000 streams, the 650x650 reversal) are in
// upstream_load_test.cpp, outside the ThreadSanitizer stage.
#include <httplib.h>
#include <signal.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>

#include "json/document.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_backend.h"
#include "support/sse_client.h"
#include "support/streams_view.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using json::Json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A hostile answer that never ends: `head`, then `chunk` until the peer
// gives up.
RawBackend::Route endless(std::string head, std::string chunk) {
  return [head = std::move(head), chunk = std::move(chunk)](RawConnection& c, const RawRequest&) {
    if (!c.send(head)) return false;
    while (c.send(chunk)) {
    }
    return false;
  };
}

class PollerBoundsTest : public ::testing::Test {
 protected:
  PollerBoundsTest() {
    backend_.route("/ok", [this](RawConnection& c, const RawRequest&) {
      return RawBackend::ok(c, healthy_doc_);
    });
    // Never answers (until the backend stops).
    backend_.route("/silent", [](RawConnection& c, const RawRequest&) { return c.hold(); });
  }

  std::string stream(const std::string& name, const std::string& path,
                     const std::string& extra = "") {
    return "  - name: " + name + "\n    url: " + backend_.url(path) +
           "\n    interval: 200ms\n    timeout: 2s\n    max_body: 1MiB\n"
           "    backoff_max: 1s\n" +
           extra;
  }

  const std::string healthy_doc_ = padded(R"({"ok":true})");
  RawBackend backend_;
};

TEST_F(PollerBoundsTest, HostileUpstreamsGoStaleWithTheBoundThatStoppedThem) {
  const std::string ok_head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
  backend_.route("/drip-body", [ok_head](RawConnection& c, const RawRequest&) {
    // Each byte comes well within any per-read timeout; the whole never does.
    if (!c.send(ok_head + "Content-Length: 1000\r\n\r\n")) return false;
    c.drip(std::string(1000, ' '), 300ms);
    return false;
  });
  backend_.route("/drip-header", [](RawConnection& c, const RawRequest&) {
    if (!c.send("HTTP/1.1 200 OK\r\n")) return false;
    c.drip("X-Slow: " + std::string(1000, 'a') + "\r\n\r\n{}", 300ms);
    return false;
  });
  backend_.route("/endless-header", endless(ok_head + "X-Endless: ", std::string(16384, 'a')));
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "X-Header-" + std::to_string(i) + ": value\r\n";
  backend_.route("/many-headers", endless(ok_head, many));
  backend_.route("/endless-chunk-size",
                 endless(ok_head + "Transfer-Encoding: chunked\r\n\r\n", std::string(16384, '1')));
  backend_.route(
      "/endless-chunk-extension",
      endless(ok_head + "Transfer-Encoding: chunked\r\n\r\n5;ext=", std::string(16384, 'x')));
  for (bool gzip : {true, false}) {
    Bomb bomb = zlib_bomb(gzip);
    backend_.route(gzip ? "/gzip-bomb" : "/deflate-bomb", [=](RawConnection& c, const RawRequest&) {
      if (!c.send(ok_head + "Content-Encoding: " + (gzip ? "gzip" : "deflate") +
                  "\r\nConnection: close\r\n\r\n" + bomb.head)) {
        return false;
      }
      while (c.send(bomb.repeat)) {
      }
      return false;
    });
  }
  const std::string br = brotli_bomb(64);
  backend_.route("/br-bomb", [ok_head, br](RawConnection& c, const RawRequest&) {
    c.send(ok_head + "Content-Encoding: br\r\nContent-Length: " + std::to_string(br.size()) +
           "\r\n\r\n" + br);
    return true;
  });
  // Each stream and the start of the reason it must go stale with.
  const std::map<std::string, std::string> bad = {
      {"drip-body", "timeout: no complete response within 2s"},
      {"drip-header", "timeout: no complete response within 2s"},
      {"endless-header", "response headers larger than max_header_bytes (65536)"},
      {"many-headers", "response headers larger than max_header_bytes (65536)"},
      {"endless-chunk-size", "receiving the response failed"},
      {"endless-chunk-extension", "timeout: no complete response within 2s"},
      {"gzip-bomb", "body larger than max_body (1048576 bytes)"},
      {"deflate-bomb", "body larger than max_body (1048576 bytes)"},
      {"br-bomb", "body larger than max_body (1048576 bytes)"},
      {"silent", "timeout: no complete response within 2s"},
  };
  std::string streams = stream("healthy", "/ok");
  for (const auto& [name, reason] : bad) streams += stream(name, "/" + name);
  ProxyProcess proxy(config_with(streams, ""));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  const auto t0 = Clock::now();
  const long rss_start = rss_kib(proxy.pid());
  long rss_max = rss_start;

  // Until every bad stream has gone stale: when, and why.
  std::map<std::string, Clock::duration> stale_after;
  std::map<std::string, std::string> reasons;
  while (stale_after.size() < bad.size() && Clock::now() - t0 < kSlowdown * 10s) {
    for (auto& [name, s] : streams_by_name(proxy.port())) {
      if (bad.count(name) && s["state"] == "stale" && !stale_after.count(name)) {
        stale_after[name] = Clock::now() - t0;
        reasons[name] = s["reason"].get<std::string>();
      }
    }
    rss_max = std::max(rss_max, rss_kib(proxy.pid()));
    std::this_thread::sleep_for(50ms);  // sampling pace of a condition loop
  }
  for (const auto& [name, reason] : bad) {
    ASSERT_TRUE(stale_after.count(name)) << name << " never went stale";
    std::cout << "[ stale    ] " << name << " after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(stale_after[name]).count()
              << " ms: " << reasons[name] << "\n";
    // The first poll lands within 200 ms; then at most the 2 s timeout.
    EXPECT_LT(stale_after[name], 2s + kSlowdown * 1200ms) << name;
    EXPECT_EQ(reasons[name].rfind(reason, 0), 0u) << name << ": " << reasons[name];
  }
  // Meanwhile (and for a little longer) the healthy stream polls every
  // 200 ms, bad neighbours or not.
  auto before = streams_by_name(proxy.port())["healthy"];
  const auto t1 = Clock::now();
  while (Clock::now() - t1 < 2s) {
    rss_max = std::max(rss_max, rss_kib(proxy.pid()));
    std::this_thread::sleep_for(100ms);  // sampling pace of a measurement window
  }
  auto after = streams_by_name(proxy.port())["healthy"];
  EXPECT_EQ(after["state"], "ok");
  const auto polls = after["polls"].get<std::uint64_t>() - before["polls"].get<std::uint64_t>();
  EXPECT_GE(polls, kSlowdown == 1 ? 7u : 4u) << "2 s at 200 ms intervals";
  EXPECT_LE(polls, 11u);
  // Bombs, endless lines and a thousand headers a round cost bounded memory
  // (an endless header line used to grow pollbridge by 120 MB a second).
  std::cout << "[ measured ] healthy polls in 2 s: " << polls << "; RSS " << rss_start
            << " KiB at start, " << rss_max << " KiB at most\n";
  EXPECT_LT(rss_max - rss_start, 64 * 1024) << "KiB; start " << rss_start << ", max " << rss_max;
  // The last good document of a bad stream stays: here there never was one,
  // and the failure is what /streams/{name} says.
  httplib::Client h("127.0.0.1", proxy.port());
  EXPECT_EQ(h.Get("/streams/healthy")->body, healthy_doc_);
}

TEST_F(PollerBoundsTest, ReloadAndShutdownDoNotWaitForAStuckPoll) {
  TempDir dir;
  auto write = [&](const std::string& stuck_timeout) {
    dir.write("pb.yaml",
              "server:\n  listen: \"127.0.0.1:0\"\n  admin_token: t\n"
              "  shutdown_timeout: 2s\nstate: { dir: \"\" }\nstreams:\n" +
                  stream("healthy", "/ok") + "  - name: stuck\n    url: " +
                  backend_.url("/silent") + "\n    timeout: " + stuck_timeout + "\n");
  };
  write("60s");
  ProxyProcess proxy = ProxyProcess::from_file(dir.file("pb.yaml"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  // The stuck stream's first request is in flight (and will be for a minute).
  ASSERT_TRUE(wait_until([&] { return backend_.requests("/silent") >= 1; }, 3s));
  httplib::Client h("127.0.0.1", proxy.port());
  h.set_read_timeout(5, 0);
  for (const char* timeout : {"59s", "58s"}) {
    write(timeout);
    const auto t0 = Clock::now();
    auto r = h.Post("/admin/reload", {{"Authorization", "Bearer t"}}, "", "");
    const auto took = Clock::now() - t0;
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(json::dump(json::parse(r->body)["changed"]), R"(["stuck"])");
    EXPECT_LT(took, 1s) << "the reload waited for the stuck poll";
    // The replacement is served at once, not "being reloaded".
    auto s = h.Get("/streams/stuck");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->body.find("being reloaded"), std::string::npos) << s->body;
    ASSERT_TRUE(wait_until(
        [&] { return backend_.requests("/silent") >= (timeout[1] == '9' ? 2u : 3u); }, 3s));
  }
  // SIGHUP the same way.
  write("57s");
  proxy.signal(SIGHUP);
  ASSERT_TRUE(wait_until(
      [&] { return proxy.stderr_text().find("config reloaded") != std::string::npos; }, 1s));
  EXPECT_EQ(streams_by_name(proxy.port())["healthy"]["state"], "ok");
  // SIGTERM with the stuck poll in flight: exit 0 well within
  // shutdown_timeout (2 s).
  ASSERT_TRUE(wait_until([&] { return backend_.requests("/silent") >= 4u; }, 3s));
  const auto t0 = Clock::now();
  proxy.signal(SIGTERM);
  EXPECT_EQ(proxy.wait(2s), 0) << proxy.stderr_text();
  EXPECT_LT(Clock::now() - t0, 2s);
}

TEST_F(PollerBoundsTest, StuckParameterizedInstanceIsStillReaped) {
  ProxyProcess proxy(
      config_with("  - name: p\n    path: /events/p/{id}\n    params: { id: "
                  "\"^[0-9]+$\" }\n    url: " +
                  backend_.url("/silent") +
                  "?id={id}\n    timeout: 60s\n    linger: 200ms\n"
                  "    max_instances: 1\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  {
    SseClient c(proxy.port(), "/events/p/1");
    ASSERT_EQ(c.status(), 200);
    ASSERT_TRUE(wait_until([&] { return backend_.requests("/silent") >= 1; }, 3s));
  }
  // Its poll never ends, yet the instance goes once nobody listens, and the
  // single slot (max_instances: 1) is free for another value.
  ASSERT_TRUE(wait_until([&] { return streams_by_name(proxy.port()).empty(); }, 4s))
      << "the stuck instance was not reaped";
  SseClient next(proxy.port(), "/events/p/2");
  EXPECT_EQ(next.status(), 200);
}

TEST_F(PollerBoundsTest, QueuedPollsDoNotTimeOutForWaitingForAConnection) {
  // Each answer takes 300 ms and only one request at a time may go to the
  // host: the sixth poll of a round waits 1.5 s for its turn, longer than its
  // 1 s timeout, which counts only once the request is sent.
  backend_.route("/slow", [this](RawConnection& c, const RawRequest&) {
    return c.pause(300ms) && RawBackend::ok(c, healthy_doc_);
  });
  std::string streams;
  for (int i = 0; i < 6; ++i) {
    streams += "  - name: q" + std::to_string(i) + "\n    url: " + backend_.url("/slow") +
               "\n    interval: 2s\n    timeout: 1s\n    max_connections_per_host: 1\n";
  }
  ProxyProcess proxy(config_with(streams));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = streams_by_name(proxy.port());
        std::size_t ok = 0;
        for (auto& [n, e] : s) ok += e["state"] == "ok";
        return ok == 6;
      },
      6s));
  for (auto& [n, e] : streams_by_name(proxy.port())) EXPECT_EQ(e["failures"], 0) << n;
  EXPECT_EQ(backend_.max_open_connections(), 1u);
}

TEST_F(PollerBoundsTest, RunningOutOfDescriptorsIsReportedAsSuch) {
  // Every answer closes its connection, so each poll needs a new socket.
  backend_.route("/close", [this](RawConnection& c, const RawRequest&) {
    RawBackend::ok(c, healthy_doc_, "Connection: close\r\n");
    return false;
  });
  // One worker, so the /readyz below is served only after the SSE exchange
  // has left it: under UBSan a type's first dynamic check calls pipe(2) to
  // probe memory, and with no descriptor left it reports a false "invalid
  // vptr". The SSE exchange's end (its stream object's destruction) raced the
  // limit and lost once; the round trip makes every check of an exchange's
  // end happen, and be remembered, before the descriptors run out.
  ProxyProcess proxy(one_stream_config(backend_.url("/close"), "", "", "  workers: 1\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  SseClient c(proxy.port(), "/events/s");
  auto snap = c.next();
  ASSERT_TRUE(snap);
  ASSERT_EQ(snap->type, "snapshot");
  httplib::Client h("127.0.0.1", proxy.port());
  auto ready = h.Get("/readyz");
  ASSERT_TRUE(ready);
  ASSERT_EQ(ready->status, 200);
  // No descriptor left: every number below the limit is taken.
  rlimit low{};
  ASSERT_EQ(prlimit(proxy.pid(), RLIMIT_NOFILE, nullptr, &low), 0);
  const rlimit before = low;
  low.rlim_cur = 4;
  ASSERT_EQ(prlimit(proxy.pid(), RLIMIT_NOFILE, &low, nullptr), 0);
  auto st = c.next(3s);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->type, "status");
  const Json data = json::parse(st->data);
  EXPECT_EQ(data["state"], "stale");
  EXPECT_EQ(data["reason"],
            "out of file descriptors (Too many open files): cannot open a connection to the "
            "upstream");
  EXPECT_NE(proxy.stderr_text().find("ERROR out of file descriptors"), std::string::npos)
      << proxy.stderr_text();
  // Descriptors back: the stream recovers by itself.
  ASSERT_EQ(prlimit(proxy.pid(), RLIMIT_NOFILE, &before, nullptr), 0);
  auto ok = c.next(3s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(json::parse(ok->data)["state"], "ok");
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
