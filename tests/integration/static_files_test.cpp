// server.static_dir through the real binary (server/static_files.h): what a
// request may reach is the directory and nothing else, and what it gets is
// cacheable and never sniffed. The raw requests go over a socket so that
// nothing normalizes the path on the way.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(site_.file("www/sub"));
    std::ofstream(site_.file("www/index.html")) << "<h1>home</h1>";
    std::ofstream(site_.file("www/app.js")) << "export const x = 1;";
    std::ofstream(site_.file("www/sub/index.html")) << "<h1>sub</h1>";
    std::ofstream(site_.file("secret.txt")) << "TOPSECRET";
    fs::create_symlink(site_.file("secret.txt"), site_.file("www/escape.txt"));
    fs::create_symlink("/etc", site_.file("www/etclink"));
    fs::create_symlink(site_.file("www/app.js"), site_.file("www/inside.js"));
    proxy_ = std::make_unique<ProxyProcess>(
        "server:\n  listen: \"127.0.0.1:0\"\n  static_dir: \"" + site_.file("www") +
        "\"\nstate: { dir: \"\" }\n"
        "streams:\n  - name: s\n    url: http://127.0.0.1:1/unused\n    interval: 1h\n");
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
  }
  RawResponse ask(const std::string& head) {
    RawConn c(proxy_->port());
    c.send(head);
    const bool is_head = head.rfind("HEAD ", 0) == 0;
    if (is_head) {
      // No body follows a HEAD's headers: read until the server closes.
      wait_until([&] {
        c.read_some(50ms);
        return c.peer_closed();
      });
    } else {
      EXPECT_TRUE(c.read_responses(1, 5s)) << head;
    }
    auto rs = parse_responses(c.received(), is_head);
    return rs.empty() ? RawResponse{} : rs[0];
  }
  RawResponse get(const std::string& target, const std::string& extra = "") {
    return ask("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + extra + "Connection: close\r\n\r\n");
  }

  TempDir site_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(StaticFilesTest, ServesFilesWithTypesValidatorsAndNosniff) {
  auto home = get("/");
  EXPECT_EQ(home.status, 200);
  EXPECT_EQ(home.body, "<h1>home</h1>");
  EXPECT_EQ(home.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(home.header("X-Content-Type-Options"), "nosniff");
  EXPECT_FALSE(home.header("ETag").empty());
  EXPECT_FALSE(home.header("Last-Modified").empty());
  EXPECT_EQ(get("/sub/").body, "<h1>sub</h1>");
  auto js = get("/app.js");
  EXPECT_EQ(js.header("Content-Type"), "text/javascript; charset=utf-8");
  // A symlink that stays inside the directory is fine.
  EXPECT_EQ(get("/inside.js").body, "export const x = 1;");
  // The API's routes win over files.
  EXPECT_EQ(get("/healthz").body, "ok\n");
}

TEST_F(StaticFilesTest, ConditionalRequestsAndHead) {
  auto first = get("/app.js");
  ASSERT_EQ(first.status, 200);
  auto again = get("/app.js", "If-None-Match: " + first.header("ETag") + "\r\n");
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  auto since = get("/app.js", "If-Modified-Since: " + first.header("Last-Modified") + "\r\n");
  EXPECT_EQ(since.status, 304);
  auto stale = get("/app.js", "If-None-Match: \"something-else\"\r\n");
  EXPECT_EQ(stale.status, 200);
  // "*" alone matches; a '*' inside another entity tag does not.
  EXPECT_EQ(get("/app.js", "If-None-Match: *\r\n").status, 304);
  EXPECT_EQ(get("/app.js", "If-None-Match: \"x*y\"\r\n").status, 200);
  auto head = ask("HEAD /app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.header("ETag"), first.header("ETag"));
}

TEST_F(StaticFilesTest, NothingOutsideTheDirectoryIsReachable) {
  // Symlinks pointing out of the directory are not followed.
  auto escape = get("/escape.txt");
  EXPECT_EQ(escape.status, 404);
  EXPECT_EQ(escape.body.find("TOPSECRET"), std::string::npos);
  auto etc = get("/etclink/passwd");
  EXPECT_EQ(etc.status, 404);
  EXPECT_EQ(etc.body.find("root:"), std::string::npos);
  // Going up is refused, encoded or not.
  for (const char* t : {"/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt",
                        "/sub/%2E%2E/%2e%2e/secret.txt"}) {
    auto r = get(t);
    EXPECT_TRUE(r.status == 400 || r.status == 404) << t << " " << r.status;
    EXPECT_EQ(r.body.find("TOPSECRET"), std::string::npos) << t;
  }
}

TEST_F(StaticFilesTest, ANulInThePathIsABadRequest) {
  for (const char* t : {"/index.html%00.txt", "/index.html%00", "/%00"}) {
    auto r = get(t);
    EXPECT_EQ(r.status, 400) << t;
    EXPECT_EQ(r.body.find("home"), std::string::npos) << t;
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
