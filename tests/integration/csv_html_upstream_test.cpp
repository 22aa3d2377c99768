// parse: csv and parse: html through the real binary: a fake nightly CSV
// export and a fake intranet HTML report, each with diff: items keyed by a
// column, read by an SSE client; a CSV row with the wrong number of fields
// is a status naming the row, and the last good document stays. One
// pollbridge process serves both streams.
#include <httplib.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using Plain = nlohmann::json;

const char kCsv0[] =
    "\xEF\xBB\xBFid,name,qty\r\n1,spoons,3\r\n2,\"forks, silver\",4\r\n3,cups,1\r\n";
// 1 removed, 2 changed (a quoted line break), 4 added.
const char kCsv1[] =
    "id,name,qty\r\n2,\"forks,\r\nsilver\",5\r\n3,cups,1\r\n4,\"mugs \"\"XL\"\"\",2\r\n";
const char kCsvBad[] = "id,name,qty\r\n2,forks,5\r\n3,cups\r\n";

const char kHtml0[] = R"(<html><body><table id="report">
<tr><th>Id</th><th>Status</th></tr>
<tr><td>a1</td><td> open </td></tr>
<tr><td>a2</td><td>closed</td></tr>
</table></body></html>)";
const char kHtml1[] = R"(<html><body><table id="report">
<tr><th>Id</th><th>Status</th></tr>
<tr><td>a1</td><td>late</td></tr>
<tr><td>a2</td><td>closed</td></tr>
</table></body></html>)";

class CsvHtmlUpstreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    backend_ = new FakeBackend();
    backend_->set_body(kCsv0, "/export.csv", "text/csv; charset=utf-8");
    backend_->set_body(kHtml0, "/report.html", "text/html");
    const std::string streams =
        "  - name: export\n    url: " + backend_->url("/export.csv") +
        "\n    interval: 1h\n    parse: csv\n    diff: items\n    key: id\n"
        "  - name: report\n    url: " +
        backend_->url("/report.html") +
        "\n    interval: 1h\n    parse: html\n    diff: items\n    key: id\n"
        "    html:\n      rows: \"//table[@id='report']/tr[td]\"\n"
        "      fields: { id: \"td[1]\", status: \"td[2]\" }\n";
    proxy_ = new ProxyProcess(config_with(streams));
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete backend_;
    proxy_ = nullptr;
    backend_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
    http_ = std::make_unique<httplib::Client>("127.0.0.1", proxy_->port());
  }
  void poll(const std::string& name) {
    auto r = http_->Post("/streams/" + name + "/poll?wait=true",
                         {{"Authorization", "Bearer test-token"}}, "", "text/plain");
    ASSERT_TRUE(r);
  }
  Plain document(const std::string& name) {
    auto r = http_->Get("/streams/" + name);
    return r && r->status == 200 ? Plain::parse(r->body) : Plain();
  }
  std::unique_ptr<SseClient> connect(const std::string& name) {
    return std::make_unique<SseClient>(proxy_->port(), "/events/" + name);
  }

  static FakeBackend* backend_;
  static ProxyProcess* proxy_;
  std::unique_ptr<httplib::Client> http_;
};
FakeBackend* CsvHtmlUpstreamTest::backend_ = nullptr;
ProxyProcess* CsvHtmlUpstreamTest::proxy_ = nullptr;

TEST_F(CsvHtmlUpstreamTest, ACsvExportGivesItemEventsAndABadRowIsAStatus) {
  ASSERT_TRUE(wait_until([&] { return !document("export").is_null(); }, 10000ms * kSlowdown));
  auto client = connect("export");
  auto first = client->next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->type, "snapshot");
  EXPECT_EQ(Plain::parse(first->data),
            Plain::parse(R"([{"id":"1","name":"spoons","qty":"3"},)"
                         R"({"id":"2","name":"forks, silver","qty":"4"},)"
                         R"({"id":"3","name":"cups","qty":"1"}])"));

  backend_->set_body(kCsv1, "/export.csv", "text/csv");
  poll("export");
  std::map<std::string, Plain> by_type;
  for (const auto& ev : client->take(3)) by_type[ev.type] = Plain::parse(ev.data);
  ASSERT_EQ(by_type.size(), 3u);
  EXPECT_EQ(by_type["deleted"]["key"], "1");
  EXPECT_EQ(by_type["updated"]["key"], "2");
  EXPECT_EQ(by_type["updated"]["value"]["name"], "forks,\r\nsilver");
  EXPECT_EQ(by_type["created"]["key"], "4");
  EXPECT_EQ(by_type["created"]["value"]["name"], "mugs \"XL\"");

  backend_->set_body(kCsvBad, "/export.csv", "text/csv");
  poll("export");
  auto status = client->next();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->type, "status");
  const Plain s = Plain::parse(status->data);
  EXPECT_EQ(s["state"], "stale");
  EXPECT_NE(
      s["reason"].get<std::string>().find("CSV row 3 (line 3) has 2 fields, the header has 3"),
      std::string::npos)
      << s.dump();
  // The last good document stays.
  EXPECT_EQ(document("export").size(), 3u);
  EXPECT_EQ(document("export")[2]["id"], "4");
}

TEST_F(CsvHtmlUpstreamTest, AnHtmlReportTableGivesItemEvents) {
  ASSERT_TRUE(wait_until([&] { return !document("report").is_null(); }, 10000ms * kSlowdown));
  auto client = connect("report");
  auto first = client->next();
  ASSERT_TRUE(first);
  EXPECT_EQ(Plain::parse(first->data),
            Plain::parse(R"([{"id":"a1","status":"open"},{"id":"a2","status":"closed"}])"));
  backend_->set_body(kHtml1, "/report.html", "text/html");
  poll("report");
  auto ev = client->next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, "updated");
  const Plain data = Plain::parse(ev->data);
  EXPECT_EQ(data["key"], "a1");
  EXPECT_EQ(data["value"], Plain::parse(R"({"id":"a1","status":"late"})"));
  EXPECT_FALSE(client->next(300ms)) << "one row changed, one event";
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
