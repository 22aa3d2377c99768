// Hostile upstreams against the requests of a poll (pages:, login:): a
// next link to another host (the stream's credentials must not follow it),
// a next link back to a page already read (a loop), an endless list, and a
// login page that redirects forever. Each is refused within one poll, the
// last good document stays, and the requests sent are counted. And hostile
// parameter values (quotes, <, &) in templated JSON, XML and form bodies
// stay values.
#include <httplib.h>

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/sse_client.h"
#include "support/streams_view.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using Plain = nlohmann::json;

class RequestSequenceAttackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    backend_ = new FakeBackend;
    other_ = new FakeBackend;  // another origin (another port)
    other_->set_body("[{\"id\":99}]", "/stolen");
    const std::string other = "http://127.0.0.1:" + std::to_string(other_->port());
    backend_->set_handler([other](const httplib::Request& req, httplib::Response& res) {
      const std::string page = req.has_param("page") ? req.get_param_value("page") : "1";
      if (req.path == "/away") {
        res.set_header("Link", "<" + other + "/stolen>; rel=next");
        res.set_content("[{\"id\":1}]", "application/json");
      } else if (req.path == "/loop") {
        // Page 2 links back to page 1, spelled differently.
        res.set_header("Link", page == "1"
                                   ? "<./loop?page=2>; rel=\"next\""
                                   : "<http://127.0.0.1:" + std::to_string(backend_->port()) +
                                         "/a/../loop?page=1>; rel=\"next\"");
        res.set_content("[{\"id\":" + page + "}]", "application/json");
      } else if (req.path == "/endless") {
        res.set_content("{\"items\":[" + page +
                            "],\"next\":\"?page=" + std::to_string(std::stoi(page) + 1) + "\"}",
                        "application/json");
      } else if (req.path == "/tj" || req.path == "/tx" || req.path == "/tf") {
        res.set_content("{}", "application/json");
      } else if (req.path == "/login" || req.path == "/app") {
        // A login page that redirects to itself forever; an application
        // that sends every request to it.
        res.status = 302;
        res.set_header("Location", "/login");
      } else {
        res.status = 404;
      }
    });
    const std::string base = "http://127.0.0.1:" + std::to_string(backend_->port());
    proxy_ = new ProxyProcess(config_with(
        "  - name: away\n    url: " + base +
        "/away\n    interval: 1h\n    headers: { X-Api-Key: k-Secret }\n    pages: { next: link "
        "}\n"
        "  - name: loop\n    url: " +
        base + "/loop?page=1\n    interval: 1h\n    pages: { next: link }\n" +
        "  - name: endless\n    url: " + base +
        "/endless\n    interval: 1h\n    pages: { next: /next, items: /items, max: 3 }\n" +
        "  - name: trap\n    url: " + base + "/app\n    interval: 1h\n    login: { url: \"" + base +
        "/login\", body: \"password=Secret\" }\n" +
        templated("tj", "application/json", R"('{"q":"{v}","n":{"x":1}}')") +
        templated("tx", "text/xml; charset=utf-8", R"("<q>{v}</q>")") +
        templated("tf", "application/x-www-form-urlencoded", R"("q={v}&n=1")")));
  }
  // A parameterized stream posting `body` (YAML, quoted) as `type`.
  static std::string templated(const std::string& name, const std::string& type,
                               const std::string& body) {
    return "  - name: " + name + "\n    path: /events/" + name +
           "/{v}\n    params: { v: \".+\" }\n" +
           "    url: http://127.0.0.1:" + std::to_string(backend_->port()) + "/" + name +
           "\n    interval: 1h\n    method: POST\n    content_type: \"" + type +
           "\"\n    body: " + body + "\n";
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete other_;
    delete backend_;
  }
  void SetUp() override { ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text(); }
  static void poll(const std::string& name) {
    httplib::Client http("127.0.0.1", proxy_->port());
    auto r = http.Post("/streams/" + name + "/poll?wait=true",
                       {{"Authorization", "Bearer test-token"}}, "", "text/plain");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  static std::string reason(const std::string& name) {
    auto all = streams_by_name(proxy_->port());
    auto it = all.find(name);
    if (it == all.end() || !it->second.contains("reason")) return "";
    return it->second["reason"].get<std::string>();
  }
  static std::size_t count(const std::string& path) {
    std::size_t n = 0;
    for (const auto& r : backend_->seen()) n += r.path == path;
    return n;
  }

  static FakeBackend* backend_;
  static FakeBackend* other_;
  static ProxyProcess* proxy_;
};
FakeBackend* RequestSequenceAttackTest::backend_ = nullptr;
FakeBackend* RequestSequenceAttackTest::other_ = nullptr;
ProxyProcess* RequestSequenceAttackTest::proxy_ = nullptr;

TEST_F(RequestSequenceAttackTest, ANextLinkToAnotherOriginIsRefusedAndNeverRequested) {
  poll("away");
  EXPECT_NE(reason("away").find(
                "another origin (http://127.0.0.1:" + std::to_string(other_->port()) + ")"),
            std::string::npos)
      << reason("away");
  EXPECT_EQ(other_->requests(), 0u);  // the stream's API key never went there
  httplib::Client http("127.0.0.1", proxy_->port());
  EXPECT_EQ(http.Get("/streams/away")->status, 503);  // no partial document
}

TEST_F(RequestSequenceAttackTest, ALoopAndAnEndlessListAreRefused) {
  poll("loop");
  EXPECT_NE(reason("loop").find("page 1 again (a loop)"), std::string::npos) << reason("loop");
  poll("endless");
  EXPECT_EQ(reason("endless"), "pages: more than max (3) pages");
  const std::size_t before = count("/endless");
  poll("endless");
  EXPECT_EQ(count("/endless") - before, 3u);  // max pages per poll, never more
}

TEST_F(RequestSequenceAttackTest, ALoginThatRedirectsForeverIsRateLimited) {
  for (int i = 0; i < 5; ++i) poll("trap");
  EXPECT_NE(reason("trap").find("login:"), std::string::npos) << reason("trap");
  // Startup's poll and 5 more, interval 1h: one login, redirects never
  // followed, at most two application requests.
  EXPECT_EQ(count("/login"), 1u);
  EXPECT_LE(count("/app"), 2u);
  EXPECT_EQ(proxy_->stderr_text().find("Secret"), std::string::npos);
}

TEST_F(RequestSequenceAttackTest, HostileParameterValuesStayValuesInTemplatedBodies) {
  const std::string value = "x%22y%5Cz%3Cq%3E%26%27w";  // x"y\z<q>&'w
  std::vector<std::unique_ptr<SseClient>> clients;
  for (const char* name : {"tj", "tx", "tf"}) {
    clients.push_back(
        std::make_unique<SseClient>(proxy_->port(), std::string("/events/") + name + "/" + value));
  }
  for (auto& c : clients) ASSERT_TRUE(c->next().has_value());  // polled
  std::map<std::string, std::string> bodies;
  for (const auto& r : backend_->seen()) bodies[r.path] = r.body;
  EXPECT_EQ(bodies["/tj"], R"({"q":"x\"y\\z\u003cq\u003e\u0026'w","n":{"x":1}})");
  EXPECT_EQ(bodies["/tx"], R"(<q>x&quot;y\z&lt;q&gt;&amp;&apos;w</q>)");
  EXPECT_EQ(bodies["/tf"], "q=x%22y%5Cz%3Cq%3E%26%27w&n=1");
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
