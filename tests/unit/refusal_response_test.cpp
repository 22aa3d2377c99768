// The answer on a connection the runtime could not attach (issue 18, item
// 10): the body is JSON made by the JSON writer, whatever the message holds
// (an address the client chose: quotes, backslashes, control characters).
#include "core/refusal_response.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include "support/file_local.h"

namespace pb::core {
namespace PB_FILE_LOCAL {

TEST(RefusalResponseTest, TheBodyIsJsonWhateverTheMessageHolds) {
  const std::string hostile = "stream a\"},\"x\":\"y\\\n\r\t\x01 gone";
  for (int status : {404, 503}) {
    std::string r = refusal_response(LookupError{status, hostile, 1});
    const std::size_t end = r.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos);
    const std::string head = r.substr(0, end);
    const std::string body = r.substr(end + 4);
    EXPECT_EQ(head.rfind(status == 404 ? "HTTP/1.1 404 " : "HTTP/1.1 503 ", 0), 0u) << head;
    EXPECT_EQ(head.find("Retry-After") != std::string::npos, status == 503) << head;
    EXPECT_NE(head.find("Content-Length: " + std::to_string(body.size())), std::string::npos);
    auto doc = nlohmann::json::parse(body);
    ASSERT_TRUE(doc.is_object());
    EXPECT_EQ(doc.size(), 2u) << body;
    EXPECT_EQ(doc["message"], hostile);
    EXPECT_EQ(doc["error"], status == 404 ? "not_found" : "unavailable");
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::core
