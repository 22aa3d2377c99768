// An upstream that sends JSON objects with hundreds of thousands of members
// (docs/security.md, "Tested attacks"). Member lookups by linear search made
// parsing quadratic: 100,000 members took 15 s, 200,000 gave no first event
// within 20 s, and each such parse pinned one of the two processing threads.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Members of the hostile object: about 2.8 MB of JSON, under the default
// max_body (4 MiB).
constexpr std::size_t kMembers = 200000;
// What pollbridge may hold while it ingests such objects (its idle RSS is
// about 20 MiB; the parsed document, its copies and the history take a few
// tens more).
constexpr long kRssBoundKib = 256 * 1024;

// The test backend's content type for the hostile bodies: one httplib does
// not compress (brotli on 2.8 MB takes it seconds, which is not what these
// tests measure). pollbridge parses the body as JSON whatever its type.
constexpr const char* kUncompressed = "application/octet-stream";

// "m0":0,"m1":1,... without braces.
std::string members() {
  std::string out;
  out.reserve(kMembers * 16);
  for (std::size_t i = 0; i < kMembers; ++i) {
    if (i > 0) out += ',';
    out += "\"m" + std::to_string(i) + "\":" + std::to_string(i);
  }
  return out;
}

// The next event that is not a `status` event (a slow fetch on a loaded
// machine may time out once), within `timeout` in all.
std::optional<SseEvent> next_document(SseClient& client, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= milliseconds(0)) return std::nullopt;
    auto ev = client.next(left);
    if (!ev || ev->type != "status") return ev;
  }
}

TEST(JsonMembersAttackTest, AnObjectOf200000MembersGivesItsSnapshotPromptly) {
  FakeBackend backend;
  const std::string body = "{" + members() + "}";
  backend.set_body(body, "/big", kUncompressed);
  ProxyProcess proxy(config_with("  - name: s\n    url: " + backend.url("/big") +
                                 "\n    interval: 1s\n    timeout: 5s\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();

  const auto begun = std::chrono::steady_clock::now();
  SseClient client(proxy.port(), "/events/s");
  ASSERT_EQ(client.status(), 200);
  // The old parser gave nothing within 20 s; a linear one takes well under
  // a second for this body.
  auto first = next_document(client, seconds(10) * kSlowdown);
  ASSERT_TRUE(first) << "no snapshot within " << 10 * kSlowdown << " s";
  EXPECT_EQ(first->type, "snapshot");
  // Compact integers: the snapshot is the body.
  EXPECT_TRUE(first->data == body) << first->data.size() << " bytes";
  EXPECT_LT(std::chrono::steady_clock::now() - begun, seconds(10) * kSlowdown);
  EXPECT_LT(rss_kib(proxy.pid()), kRssBoundKib);
}

TEST(JsonMembersAttackTest, HugeObjectsDoNotHoldOtherStreamsOrTheHttpSide) {
  // Two hostile streams, as many as there are processing threads, each
  // object different on every poll (parsed and diffed again each time).
  FakeBackend backend;
  const auto rest = std::make_shared<const std::string>(members() + "}");
  auto polls = std::make_shared<std::atomic<int>>(0);
  backend.set_handler([rest, polls](const httplib::Request& /*req*/, httplib::Response& res) {
    const int n = ++*polls;
    res.set_content("{\"seq\":" + std::to_string(n) + "," + *rest, kUncompressed);
  });
  FakeBackend small;
  small.set_body(padded(R"({"v":1})"), "/small");
  ProxyProcess proxy(config_with("  - name: big1\n    url: " + backend.url("/big1") +
                                 "\n    interval: 500ms\n    timeout: 5s\n"
                                 "  - name: big2\n    url: " +
                                 backend.url("/big2") +
                                 "\n    interval: 500ms\n    timeout: 5s\n"
                                 "  - name: small\n    url: " +
                                 small.url("/small") + "\n    interval: 100ms\n    timeout: 2s\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();

  SseClient big(proxy.port(), "/events/big1");
  SseClient watcher(proxy.port(), "/events/small");
  ASSERT_EQ(big.status(), 200);
  ASSERT_EQ(watcher.status(), 200);
  auto snapshot = next_document(watcher, seconds(10) * kSlowdown);
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->type, "snapshot");
  // Both hostile objects are being ingested now.
  ASSERT_TRUE(next_document(big, seconds(10) * kSlowdown)) << "no snapshot of the hostile stream";
  ASSERT_TRUE(wait_until([&] { return polls->load() >= 3; }, seconds(10) * kSlowdown));

  // Another stream's change still gets through (the old parser held both
  // processing threads for 20 s and more).
  small.set_body(padded(R"({"v":2})"), "/small");
  auto change = next_document(watcher, seconds(10) * kSlowdown);
  ASSERT_TRUE(change) << "the small stream's change did not arrive within " << 10 * kSlowdown
                      << " s";
  EXPECT_EQ(change->type, "patch");
  EXPECT_NE(change->data.find("\"/v\""), std::string::npos) << change->data;

  // The HTTP side answers at once.
  const auto asked = std::chrono::steady_clock::now();
  RawConn conn(proxy.port());
  ASSERT_TRUE(conn.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(conn.read_until_closed(seconds(2) * kSlowdown));
  const auto responses = parse_responses(conn.received());
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, seconds(2) * kSlowdown);

  // And the hostile streams keep going: a later poll's change arrives.
  auto patch = next_document(big, seconds(10) * kSlowdown);
  ASSERT_TRUE(patch);
  EXPECT_EQ(patch->type, "patch");
  EXPECT_NE(patch->data.find("\"/seq\""), std::string::npos);
  EXPECT_LT(rss_kib(proxy.pid()), kRssBoundKib);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
