// The credential query parameter in httplib's own %uXXXX form (issue 18,
// item 10): pollbridge strips `access_token` from the target before httplib
// parses it, so that a token never reaches a log; httplib also decodes
// `%u0061ccess_token` as `access_token`, which the stripping did not.
#include <gtest/gtest.h>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

const std::string kToken = "query-read-token-0123456789abcdef";

class QueryCredentialAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.set_body(R"({"a":1})");
    proxy_ = std::make_unique<ProxyProcess>(
        one_stream_config(backend_.url(), "",
                          "auth:\n  tokens: [\"" + kToken + "\"]\n  query_param: access_token\n"));
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
  }

  RawResponse get(const std::string& target) {
    RawConn c(proxy_->port());
    c.send("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    c.read_until(std::string("\r\n\r\n"), 5s);
    auto rs = parse_responses(c.received(), true);
    return rs.empty() ? RawResponse{} : rs[0];
  }

  FakeBackend backend_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(QueryCredentialAttackTest, PercentUFormIsTakenAsTheCredentialAndNeverLogged) {
  for (const std::string name : {"access_token", "%u0061ccess_token", "access%5Ftoken",
                                 "%u0061%u0063cess_token", "acc%u0065ss_token"}) {
    RawResponse r = get("/events/s?x=1&" + name + "=" + kToken);
    EXPECT_EQ(r.status, 200) << name;
    RawResponse doc = get("/streams/s?" + name + "=" + kToken);
    EXPECT_TRUE(doc.status == 200 || doc.status == 503) << name << " " << doc.status;
  }
  // Every line the five streams cause has been written: the last is each
  // one's "client disconnected".
  auto disconnects = [&] {
    const std::string logs = proxy_->stderr_text() + proxy_->stdout_text();
    std::size_t n = 0;
    for (auto at = logs.find("client disconnected"); at != std::string::npos;
         at = logs.find("client disconnected", at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_TRUE(pb::testing::wait_until([&] { return disconnects() >= 5; }));
  const std::string logs = proxy_->stderr_text() + proxy_->stdout_text();
  EXPECT_EQ(logs.find(kToken), std::string::npos) << "a token reached the logs";
  EXPECT_EQ(logs.find(kToken.substr(0, 16)), std::string::npos);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
