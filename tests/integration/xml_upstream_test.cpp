// parse: xml through the real binary: a fake SOAP service (POST with a
// SOAPAction header, an ISO-8859-1 envelope with namespaces and attributes)
// read with `diff: items` keyed by an attribute; an independent SSE client
// sees the snapshot and the item events with non-ASCII text intact; a
// Fault answered with HTTP 500 is a `status` event carrying its
// faultstring, and the last good document stays. One proxy for every case.
#include <httplib.h>

#include <gtest/gtest.h>

#include <atomic>
#include <map>
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

// An ISO-8859-1 SOAP 1.1 answer with `orders` (id, name) in its namespace.
std::string envelope(const std::vector<std::pair<int, std::string>>& orders) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
      "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "
      "xmlns:o=\"urn:example:orders\">\n <soap:Body>\n  <o:GetOrdersResponse>\n   <o:orders>\n";
  for (const auto& [id, name] : orders) {
    out += "    <o:order id=\"" + std::to_string(id) + "\" state=\"new\"><o:name>" + name +
           "</o:name></o:order>\n";
  }
  return out + "   </o:orders>\n  </o:GetOrdersResponse>\n </soap:Body>\n</soap:Envelope>\n";
}

const std::string kFault =
    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
    "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>"
    "<soap:Fault><faultcode>soap:Server</faultcode>"
    "<faultstring>Service indisponible (d\xE9j\xE0 vu)</faultstring></soap:Fault>"
    "</soap:Body></soap:Envelope>";

const std::string kRequest =
    "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>"
    "<GetOrders xmlns=\"urn:example:orders\"/></soap:Body></soap:Envelope>";

class XmlUpstreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    backend_ = new FakeBackend();
    backend_->set_handler([](const httplib::Request& req, httplib::Response& res) {
      if (req.method != "POST" || req.get_header_value("SOAPAction") != "\"urn:GetOrders\"" ||
          req.body.find("<GetOrders") == std::string::npos) {
        res.status = 400;
        return;
      }
      const int state = state_.load();
      if (state == 2 || state == 4) {
        // A Fault with 500, as SOAP 1.1 says, or with 200, as some do.
        res.status = state == 2 ? 500 : 200;
        res.set_content(kFault, "text/xml; charset=ISO-8859-1");
        return;
      }
      if (state == 3) {
        // A Fault too large to be kept (upstream::kMaxErrorBody): only the
        // status is known.
        res.status = 500;
        res.set_content("<Envelope><Body><Fault><faultstring>" + std::string(70000, 'x') +
                            "</faultstring></Fault></Body></Envelope>",
                        "text/xml");
        return;
      }
      res.set_content(state == 0 ? envelope({{1, "Caf\xE9 cr\xE8me"}, {2, "Th\xE9"}})
                                 : envelope({{1, "Caf\xE9 noir"}}),
                      "text/xml; charset=ISO-8859-1");
    });
    const std::string stream =
        "  - name: soap\n    url: " + backend_->url("/soap") +
        "\n    interval: 1h\n    method: POST\n"
        "    content_type: text/xml; charset=utf-8\n"
        "    headers: { SOAPAction: '\"urn:GetOrders\"' }\n"
        "    body: '" +
        kRequest +
        "'\n"
        "    parse: xml\n"
        "    xml: { arrays: [/Envelope/Body/GetOrdersResponse/orders/order] }\n"
        "    select: /Envelope/Body/GetOrdersResponse/orders/order\n"
        "    diff: items\n    key: \"@id\"\n";
    proxy_ = new ProxyProcess(config_with(stream));
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete backend_;
  }
  void SetUp() override {
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
    http_ = std::make_unique<httplib::Client>("127.0.0.1", proxy_->port());
  }
  void poll() {
    auto r = http_->Post("/streams/soap/poll?wait=true", {{"Authorization", "Bearer test-token"}},
                         "", "text/plain");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }

  static FakeBackend* backend_;
  static ProxyProcess* proxy_;
  static std::atomic<int> state_;
  std::unique_ptr<httplib::Client> http_;
};

FakeBackend* XmlUpstreamTest::backend_ = nullptr;
ProxyProcess* XmlUpstreamTest::proxy_ = nullptr;
std::atomic<int> XmlUpstreamTest::state_{0};

TEST_F(XmlUpstreamTest, SoapItemsFaultsAndTheLastGoodDocument) {
  ASSERT_TRUE(
      wait_until([&] { return http_->Get("/streams/soap")->status == 200; }, 10000ms * kSlowdown));
  SseClient client(proxy_->port(), "/events/soap");
  auto first = client.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->type, "snapshot");
  EXPECT_EQ(
      Plain::parse(first->data),
      Plain::parse("[{\"@id\":\"1\",\"@state\":\"new\",\"name\":\"Caf\xC3\xA9 cr\xC3\xA8me\"},"
                   "{\"@id\":\"2\",\"@state\":\"new\",\"name\":\"Th\xC3\xA9\"}]"));
  const SeenRequest seen = backend_->last();
  EXPECT_EQ(seen.body, kRequest);
  EXPECT_EQ(seen.headers.find("Accept")->second, "application/xml, text/xml, */*;q=0.5");

  // One order left: still an array (xml.arrays); one update, one deletion.
  state_ = 1;
  poll();
  auto events = client.take(2);
  ASSERT_EQ(events.size(), 2u);
  std::map<std::string, Plain> by_type;
  for (const auto& ev : events) by_type[ev.type] = Plain::parse(ev.data);
  ASSERT_EQ(by_type.count("updated"), 1u);
  ASSERT_EQ(by_type.count("deleted"), 1u);
  EXPECT_EQ(by_type["updated"]["value"]["name"], "Caf\xC3\xA9 noir");
  EXPECT_EQ(by_type["deleted"]["key"], "2");

  // The Fault with HTTP 500: a status carrying its faultstring.
  state_ = 2;
  poll();
  auto status = client.next();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->type, "status");
  const Plain s = Plain::parse(status->data);
  EXPECT_EQ(s["http_status"], 500);
  EXPECT_EQ(s["reason"],
            "upstream answered HTTP 500: SOAP Fault soap:Server: Service indisponible "
            "(d\xC3\xA9j\xC3\xA0 vu)");

  // A new client gets the last good document, then the status.
  SseClient late(proxy_->port(), "/events/soap");
  auto snapshot = late.next();
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->type, "snapshot");
  EXPECT_EQ(Plain::parse(snapshot->data),
            Plain::parse("[{\"@id\":\"1\",\"@state\":\"new\",\"name\":\"Caf\xC3\xA9 noir\"}]"));
  auto again = late.next();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->type, "status");

  // An error body past 64 KiB is not read; a Fault with 200 is an error too.
  state_ = 3;
  poll();
  auto big = client.next();
  ASSERT_TRUE(big);
  EXPECT_EQ(Plain::parse(big->data)["reason"], "upstream answered HTTP 500");
  state_ = 4;
  poll();
  auto ok_fault = client.next();
  ASSERT_TRUE(ok_fault);
  EXPECT_EQ(Plain::parse(ok_fault->data)["reason"],
            "SOAP Fault soap:Server: Service indisponible (d\xC3\xA9j\xC3\xA0 vu)");
  state_ = 1;
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
