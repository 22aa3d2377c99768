// An upstream CSV export whose quoted field never ends (issue 20): 4 MiB
// after an opening quote, plain or made of doubled quotes (which the reader
// copies), through the real binary. Each is a status naming where the field
// began, within a second, with the process's peak memory a small multiple of
// the body; the last good document stays.
#include <httplib.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

constexpr std::size_t kField = 4u << 20;
// What one bad body may add to the process's peak memory: the transfer
// buffer, the body and the document being built, with room for the
// allocator (and ASan's quarantine).
constexpr long kPeakGrowthKib = 64 * 1024;

// Peak resident memory of a process in KiB (VmHWM), -1 if unreadable.
long peak_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

TEST(CsvEndlessFieldAttackTest, AnUnterminatedQuotedFieldIsAnErrorInBoundedTimeAndMemory) {
  FakeBackend backend;
  backend.set_body("id,v\n1,ok\n", "/export.csv", "text/csv");
  ProxyProcess proxy(config_with("  - name: export\n    url: " + backend.url("/export.csv") +
                                 "\n    interval: 1h\n    parse: csv\n    max_body: 8MiB\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  httplib::Client http("127.0.0.1", proxy.port());
  ASSERT_TRUE(wait_until([&] { return http.Get("/streams/export")->status == 200; }));
  SseClient client(proxy.port(), "/events/export");
  ASSERT_TRUE(client.next());  // the snapshot
  const long before = peak_kib(proxy.pid());
  ASSERT_GT(before, 0);

  // The second starts a line lower: a status is sent when the reason changes.
  const std::pair<std::string, int> bodies[] = {
      {"id,v\n1,ok\n2,\"" + std::string(kField, 'x'), 3},
      {"id,v\n1,ok\n\n2,\"" + std::string(kField, '"') + "x", 4}};
  for (const auto& [body, line] : bodies) {
    backend.set_body(body, "/export.csv", "text/csv");
    const auto t0 = std::chrono::steady_clock::now();
    auto r = http.Post("/streams/export/poll?wait=true", {{"Authorization", "Bearer test-token"}},
                       "", "text/plain");
    ASSERT_TRUE(r);
    auto status = client.next(5000ms * kSlowdown);
    ASSERT_TRUE(status);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms * kSlowdown);
    EXPECT_EQ(status->type, "status");
    EXPECT_NE(status->data.find("CSV row 3: the quoted field opened at line " +
                                std::to_string(line) + ", column 3 is never closed"),
              std::string::npos)
        << status->data;
    EXPECT_EQ(nlohmann::json::parse(http.Get("/streams/export")->body),
              nlohmann::json::parse(R"([{"id":"1","v":"ok"}])"));
  }
  EXPECT_LT(peak_kib(proxy.pid()) - before, kPeakGrowthKib);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
