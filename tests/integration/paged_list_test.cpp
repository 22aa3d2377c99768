// Paged lists (pages:) through the real binary: a Link-paged list API with
// ETags and a cursor-paged one, against a fake backend whose pages the test
// moves items between. A poll publishes only a complete list: a page that
// fails keeps the last good document and gives a status; every page 304 is
// no event; random page splits give the concatenation (property).
#include <httplib.h>

#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <random>

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

// The fake list API: the same items served Link-paged (/link?page=N, with
// ETags and 304s) and cursor-paged (/cursor?cursor=cN, items under /data).
struct ListApi {
  std::mutex mu;
  std::vector<std::vector<int>> pages{{1, 2}, {3, 4}, {5}};
  int fail_page = 0;              // 1-based; answered 500
  std::vector<std::string> seen;  // path?query, in order

  Plain page(std::size_t i) {
    Plain items = Plain::array();
    for (int id : pages[i]) items.push_back({{"id", id}, {"name", "item " + std::to_string(id)}});
    return items;
  }
  void handle(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(req.path == "/link"
                       ? "/link?page=" + (req.has_param("page") ? req.get_param_value("page") : "1")
                       : req.path + "?cursor=" + req.get_param_value("cursor"));
    if (req.path == "/link") {
      const std::size_t n = req.has_param("page") ? std::stoul(req.get_param_value("page")) : 1;
      if (n < 1 || n > pages.size() || static_cast<int>(n) == fail_page) {
        res.status = 500;
        return;
      }
      const std::string body = page(n - 1).dump();
      const std::string etag = "\"" + std::to_string(std::hash<std::string>{}(body)) + "\"";
      res.set_header("ETag", etag);
      if (n < pages.size()) {
        // Relative, among other relations.
        res.set_header("Link", "<?page=1>; rel=\"first\", <?page=" + std::to_string(n + 1) +
                                   ">; rel=\"next\"");
      }
      if (req.get_header_value("If-None-Match") == etag) {
        res.status = 304;
        return;
      }
      res.set_content(body, "application/json");
      return;
    }
    if (req.path == "/cursor") {
      std::size_t n = 1;
      if (req.has_param("cursor")) n = std::stoul(req.get_param_value("cursor").substr(1));
      if (n < 1 || n > pages.size() || static_cast<int>(n) == fail_page) {
        res.status = 500;
        return;
      }
      Plain body = {
          {"data", page(n - 1)},
          {"meta",
           {{"next", n < pages.size() ? Plain("c" + std::to_string(n + 1)) : Plain(nullptr)}}}};
      res.set_content(body.dump(), "application/json");
      return;
    }
    res.status = 404;
  }
};

Plain ids_document(const std::vector<std::vector<int>>& pages) {
  Plain doc = Plain::array();
  for (const auto& p : pages) {
    for (int id : p) doc.push_back({{"id", id}, {"name", "item " + std::to_string(id)}});
  }
  return doc;
}

class PagedListTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    api_ = new ListApi;
    backend_ = new FakeBackend;
    backend_->set_handler(
        [](const httplib::Request& req, httplib::Response& res) { api_->handle(req, res); });
    const std::string base = "http://127.0.0.1:" + std::to_string(backend_->port());
    proxy_ = new ProxyProcess(config_with(
        "  - name: link\n    url: " + base +
        "/link\n    interval: 1h\n    diff: items\n    key: id\n    pages: { next: link }\n"
        "  - name: cursor\n    url: " +
        base +
        "/cursor\n    interval: 1h\n    pages: { next: /meta/next, items: /data, "
        "cursor_param: cursor }\n"));
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete backend_;
    delete api_;
  }
  void SetUp() override {
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
    std::lock_guard<std::mutex> lock(api_->mu);
    api_->pages = {{1, 2}, {3, 4}, {5}};
    api_->fail_page = 0;
    api_->seen.clear();
  }
  // The requests one stream made ("/link" or "/cursor"), in order: the other
  // stream's first poll lands at a random point of the first second.
  static std::vector<std::string> seen_of(const std::string& path) {
    std::lock_guard<std::mutex> lock(api_->mu);
    std::vector<std::string> out;
    for (const auto& s : api_->seen) {
      if (s.compare(0, path.size() + 1, path + "?") == 0) out.push_back(s);
    }
    return out;
  }
  static void poll(const std::string& name) {
    httplib::Client http("127.0.0.1", proxy_->port());
    auto r = http.Post("/streams/" + name + "/poll?wait=true",
                       {{"Authorization", "Bearer test-token"}}, "", "text/plain");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  static Plain document(const std::string& name) {
    httplib::Client http("127.0.0.1", proxy_->port());
    auto r = http.Get("/streams/" + name);
    if (!r || r->status != 200) return Plain();
    return Plain::parse(r->body);
  }
  static Plain entry(const std::string& name) {
    auto all = streams_by_name(proxy_->port());
    auto it = all.find(name);
    return it == all.end() ? Plain() : Plain::parse(json::dump(it->second));
  }

  static ListApi* api_;
  static FakeBackend* backend_;
  static ProxyProcess* proxy_;
};
ListApi* PagedListTest::api_ = nullptr;
FakeBackend* PagedListTest::backend_ = nullptr;
ProxyProcess* PagedListTest::proxy_ = nullptr;

TEST_F(PagedListTest, ALinkPagedListIsOneDocumentAndAnItemMovingBetweenPagesIsNoDeletion) {
  poll("link");
  EXPECT_EQ(document("link"), ids_document({{1, 2}, {3, 4}, {5}}));
  SseClient client(proxy_->port(), "/events/link");
  ASSERT_TRUE(client.next().has_value());  // the snapshot
  {
    // Item 3 moves to page 1 (an insertion before it, upstream): page 2
    // then starts with 4. Read page by page at different moments a client
    // would think 3 deleted; read whole it only moved.
    std::lock_guard<std::mutex> lock(api_->mu);
    api_->pages = {{1, 2, 3}, {4}, {5}};
  }
  poll("link");
  EXPECT_EQ(document("link"), ids_document({{1, 2, 3}, {4}, {5}}));
  {
    std::lock_guard<std::mutex> lock(api_->mu);
    api_->pages = {{1, 2, 3}, {4, 6}, {5}};
  }
  poll("link");
  auto ev = client.next();
  ASSERT_TRUE(ev.has_value());
  // Only item 6 is new: the move was no event, and nothing was removed.
  EXPECT_EQ(ev->type, "created") << ev->data;
  EXPECT_NE(ev->data.find("\"id\":6"), std::string::npos) << ev->data;
}

TEST_F(PagedListTest, EveryPage304IsNoEventAndEachPageIsConditional) {
  poll("link");
  const Plain before = entry("link");
  {
    std::lock_guard<std::mutex> lock(api_->mu);
    api_->seen.clear();
  }
  poll("link");
  const Plain after = entry("link");
  EXPECT_EQ(after["last_id"], before["last_id"]);
  EXPECT_EQ(after["not_modified"].get<int>(), before["not_modified"].get<int>() + 1);
  EXPECT_EQ(seen_of("/link"),
            (std::vector<std::string>{"/link?page=1", "/link?page=2", "/link?page=3"}));
}

TEST_F(PagedListTest, AFailingPageKeepsTheLastGoodDocumentAndSaysWhy) {
  poll("cursor");
  const Plain good = ids_document({{1, 2}, {3, 4}, {5}});
  EXPECT_EQ(document("cursor"), good);
  {
    std::lock_guard<std::mutex> lock(api_->mu);
    api_->pages = {{1}, {2, 3}, {4, 5, 7}};
    api_->fail_page = 2;
  }
  poll("cursor");
  EXPECT_EQ(document("cursor"), good);  // never a partial list
  const Plain e = entry("cursor");
  EXPECT_EQ(e["state"], "stale");
  EXPECT_EQ(e["reason"], "pages: page 2: upstream answered HTTP 500") << e.dump();
  {
    std::lock_guard<std::mutex> lock(api_->mu);
    api_->fail_page = 0;
  }
  poll("cursor");
  EXPECT_EQ(document("cursor"), ids_document({{1}, {2, 3}, {4, 5, 7}}));
  EXPECT_EQ(entry("cursor")["state"], "ok");
  EXPECT_EQ(seen_of("/cursor").back(), "/cursor?cursor=c3");
}

// Property: whatever the split of a list into pages (1 to 6 pages, empty
// pages included), the document is the concatenation.
TEST_F(PagedListTest, RandomPageSplitsGiveTheConcatenation) {
  std::mt19937 rng(20);
  for (int round = 0; round < 12; ++round) {
    std::vector<std::vector<int>> pages(1 + rng() % 6);
    const int n = static_cast<int>(rng() % 15);
    for (int id = 1; id <= n; ++id) pages[rng() % pages.size()].push_back(id * 10 + round);
    {
      std::lock_guard<std::mutex> lock(api_->mu);
      api_->pages = pages;
    }
    const std::string name = round % 2 ? "cursor" : "link";
    poll(name);
    ASSERT_EQ(document(name), ids_document(pages)) << "round " << round;
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
