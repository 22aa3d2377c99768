// Attacks through XML upstream bodies (parse: xml, issue 20): an external
// entity naming a local file and one naming a network address (a listener
// that must see no request: entity, external DTD, parameter entity), a
// "billion laughs" entity bomb (an error within a second, the proxy's peak
// RSS bounded) and nesting far deeper than the limit. One proxy reads them
// all, one stream each; every stream must end up either with a harmless
// document or stale with a reason, and the proxy keeps serving.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ingest/xml_mapping.h"
#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using Plain = nlohmann::json;

std::string billion_laughs() {
  std::string doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol0 \"lol\">\n";
  for (int i = 1; i <= 9; ++i) {
    doc += " <!ENTITY lol" + std::to_string(i) + " \"";
    for (int k = 0; k < 10; ++k) doc += "&lol" + std::to_string(i - 1) + ";";
    doc += "\">\n";
  }
  return doc + "]>\n<lolz a=\"&lol9;\">&lol9;</lolz>\n";
}

std::string nested(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "<a>";
  for (int i = 0; i < n; ++i) s += "</a>";
  return s;
}

// Peak resident set of a process, in KiB (VmHWM).
long peak_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

class XmlAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string spy = spy_.url("/x");
    backend_.set_body(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM "
        "\"file:///etc/passwd\">]><r><a>&x;</a><b>ok</b></r>",
        "/file", "text/xml");
    backend_.set_body("<?xml version=\"1.0\"?><!DOCTYPE r SYSTEM \"" + spy +
                          "/dtd\" [<!ENTITY % p SYSTEM \"" + spy +
                          "/param\"> %p; <!ENTITY x SYSTEM \"" + spy +
                          "/entity\">]><r><a>&x;</a><b>ok</b></r>",
                      "/net", "application/xml");
    backend_.set_body(billion_laughs(), "/bomb", "text/xml");
    backend_.set_body(nested(100000), "/deep", "text/xml");
    backend_.set_body("<r>fine</r>", "/fine", "text/xml");
    std::string streams;
    for (const char* name : {"file", "net", "bomb", "deep", "fine"}) {
      streams += std::string("  - name: ") + name +
                 "\n    url: " + backend_.url(std::string("/") + name) +
                 "\n    interval: 1h\n    parse: xml\n";
    }
    proxy_ = std::make_unique<ProxyProcess>(config_with(streams));
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
  }

  // The first events a new client of `name` gets.
  std::vector<SseEvent> first_events(const std::string& name, std::size_t n) {
    SseClient c(proxy_->port(), "/events/" + name);
    return c.take(n, 5000ms * kSlowdown);
  }

  FakeBackend backend_;
  FakeBackend spy_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(XmlAttackTest, EntitiesAreNeverResolvedAndBombsAndDepthAreRefused) {
  // The harmless stream first: once it has its document, the others have
  // been polled too (one poll each at start).
  auto fine = first_events("fine", 1);
  ASSERT_EQ(fine.size(), 1u);
  EXPECT_EQ(fine[0].data, "{\"r\":\"fine\"}");

  // External entities: the reference stays empty, nothing is read.
  for (const char* name : {"file", "net"}) {
    auto ev = first_events(name, 1);
    ASSERT_EQ(ev.size(), 1u) << name;
    EXPECT_EQ(ev[0].type, "snapshot") << name;
    EXPECT_EQ(Plain::parse(ev[0].data), Plain::parse(R"({"r":{"a":null,"b":"ok"}})"))
        << name << ": " << ev[0].data;
    EXPECT_EQ(ev[0].data.find("root:"), std::string::npos);
  }
  EXPECT_EQ(spy_.requests(), 0u) << "the network entity, DTD or parameter entity was fetched";

  // The bomb and the depth: stale from the start, with a reason.
  auto bomb = first_events("bomb", 1);
  ASSERT_EQ(bomb.size(), 1u);
  EXPECT_EQ(bomb[0].type, "status");
  EXPECT_NE(Plain::parse(bomb[0].data)["reason"].get<std::string>().find("entity"),
            std::string::npos)
      << bomb[0].data;
  auto deep = first_events("deep", 1);
  ASSERT_EQ(deep.size(), 1u);
  EXPECT_EQ(deep[0].type, "status");
  EXPECT_NE(Plain::parse(deep[0].data)["reason"].get<std::string>().find("depth"),
            std::string::npos)
      << deep[0].data;

  // Memory: the bomb (3 GB expanded) left the proxy's peak RSS small.
  const long rss = peak_rss_kib(proxy_->pid());
  RecordProperty("proxy_peak_rss_kib", std::to_string(rss));
  EXPECT_GT(rss, 0);
  EXPECT_LT(rss, 200 * 1024 * kSlowdown) << "peak RSS " << rss << " KiB";
}

TEST(XmlBombTimeTest, EntityBombIsAnErrorWithinASecond) {
  const std::string bomb = billion_laughs();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(ingest::xml_to_json(bomb, "", config::XmlOptions{}, 4 << 20), ingest::DecodeError);
  // A quadratic blowup variant: one big entity referenced many times.
  const std::string big(50000, 'x');
  std::string quadratic = "<!DOCTYPE r [<!ENTITY e \"" + big + "\">]><r>";
  for (int i = 0; i < 50000; ++i) quadratic += "&e;";
  quadratic += "</r>";
  EXPECT_THROW(ingest::xml_to_json(quadratic, "", config::XmlOptions{}, 4 << 20),
               ingest::DecodeError);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 1000ms * kSlowdown);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
