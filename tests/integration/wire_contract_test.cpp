// Two contract bugs found by independent clients (issue 18, items 11 and
// 12), through the real binary:
//  * a CORS preflight carried Access-Control-Allow-Credentials twice, which
//    browsers read as "true, true" and refuse (Fetch standard, CORS check);
//  * with --log-format json one plain line ("... listening on ...") was
//    still written, which a collector reading JSON lines chokes on.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

std::size_t count_fields(const std::string& head, const std::string& name) {
  std::size_t n = 0;
  std::istringstream in(head);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > name.size() && line[name.size()] == ':' &&
        std::equal(name.begin(), name.end(), line.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      ++n;
    }
  }
  return n;
}

TEST(WireContractTest, PreflightHasExactlyOneAllowCredentialsField) {
  FakeBackend backend;
  backend.set_body(R"({"a":1})");
  ProxyProcess proxy(
      one_stream_config(backend.url(), "", "auth:\n  tokens: [\"read-token-0123456789\"]\n",
                        "  cors_origins: [\"http://app.example\"]\n  cors_credentials: true\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  for (const char* path : {"/streams/s", "/events/s", "/events?stream=s", "/pollbridge.js"}) {
    RawConn c(proxy.port());
    c.send(std::string("OPTIONS ") + path +
           " HTTP/1.1\r\nHost: x\r\nOrigin: http://app.example\r\n"
           "Access-Control-Request-Method: GET\r\n"
           "Access-Control-Request-Headers: authorization, last-event-id\r\n"
           "Connection: close\r\n\r\n");
    c.read_until_closed(5s);
    auto rs = parse_responses(c.received());
    ASSERT_EQ(rs.size(), 1u) << path;
    EXPECT_EQ(rs[0].status, 204) << path;
    EXPECT_EQ(count_fields(rs[0].head, "Access-Control-Allow-Credentials"), 1u) << path << "\n"
                                                                                << rs[0].head;
    EXPECT_EQ(count_fields(rs[0].head, "Access-Control-Allow-Origin"), 1u) << path;
    EXPECT_EQ(rs[0].header("Access-Control-Allow-Origin"), "http://app.example");
  }
}

// Every line on stdout and stderr, from start to exit, is one JSON object.
void expect_json_lines(const std::string& text, const char* where) {
  std::istringstream in(text);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(!j.is_discarded() && j.is_object()) << where << ": " << line;
  }
  EXPECT_GT(n, 0u) << where;
}

TEST(WireContractTest, JsonLogFormatWritesOnlyJsonLines) {
  FakeBackend backend;
  backend.set_body(R"({"a":1})");
  for (bool flag : {true, false}) {
    const std::string top = flag ? "" : "log: { format: json }\n";
    ProxyProcess proxy(
        one_stream_config(backend.url(), "", top, "  admin_listen: \"127.0.0.1:0\"\n"),
        flag ? std::vector<std::string>{"--log-format", "json"} : std::vector<std::string>{});
    ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
    // Something in between: a refused request and a reload.
    RawConn c(proxy.port());
    c.send("GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    c.read_until_closed(5s);
    proxy.signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return proxy.stderr_text().find("reload") != std::string::npos; }))
        << proxy.stderr_text();
    proxy.signal(SIGTERM);
    EXPECT_EQ(proxy.wait(10s), 0);
    std::string out = proxy.stdout_text();
    EXPECT_NE(out.find("\"msg\":\"listening\""), std::string::npos) << out;
    EXPECT_NE(out.find("\"msg\":\"admin listening\""), std::string::npos) << out;
    expect_json_lines(out, "stdout");
    expect_json_lines(proxy.stderr_text(), "stderr");
  }
  // --check too.
  TempDir dir;
  dir.write("c.yaml", one_stream_config(backend.url()));
  std::string output;
  EXPECT_EQ(
      run_pollbridge({"--check", "--log-format", "json", "--config", dir.file("c.yaml")}, &output),
      0);
  expect_json_lines(output, "--check");
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
