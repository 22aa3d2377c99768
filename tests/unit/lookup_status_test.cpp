// How the HTTP layer answers a failed lookup (src/server/lookup_status.h):
// each kind core reports has its status; a route's answer carries
// Retry-After exactly when the error says when to retry; the answer on a
// connection the runtime could not attach (src/server/refusal_response.h) is
// 404 or 503 with Retry-After: 1, and its body is JSON made by the JSON
// writer whatever the message holds (an address the client chose: quotes,
// backslashes, control characters).
#include "server/lookup_status.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include "server/api.h"
#include "server/refusal_response.h"
#include "support/file_local.h"

namespace pb::server {
namespace PB_FILE_LOCAL {

using core::LookupError;
using core::LookupFailure;

// Every kind, with the retry hint the runtime gives it.
const LookupError kErrors[] = {
    {LookupFailure::kNotFound, "no stream named x", 0, "", ""},
    {LookupFailure::kInvalid, "id: not a number", 0, "", ""},
    {LookupFailure::kBusy, "stream x is being replaced; retry", 1, "", ""},
    {LookupFailure::kOverLimit, "stream p has reached max_instances (1)", 5,
     "streams[].max_instances", "p"},
    {LookupFailure::kClientOverLimit, "this client has reached stream p's limit", 5,
     "streams[].max_instances_per_client", "p"},
};

TEST(LookupStatusTest, EachKindHasItsStatus) {
  EXPECT_EQ(lookup_status(LookupFailure::kNotFound), 404);
  EXPECT_EQ(lookup_status(LookupFailure::kInvalid), 400);
  EXPECT_EQ(lookup_status(LookupFailure::kBusy), 503);
  EXPECT_EQ(lookup_status(LookupFailure::kOverLimit), 503);
  EXPECT_EQ(lookup_status(LookupFailure::kClientOverLimit), 429);
}

TEST(LookupStatusTest, ARouteAnswersTheKindsStatusAndRetryAfterOnlyWithAHint) {
  for (const LookupError& err : kErrors) {
    httplib::Response res;
    lookup_error(res, err);
    EXPECT_EQ(res.status, lookup_status(err.kind)) << err.message;
    EXPECT_EQ(res.has_header("Retry-After"), err.retry_after > 0) << err.message;
    if (err.retry_after > 0) {
      EXPECT_EQ(res.get_header_value("Retry-After"), std::to_string(err.retry_after));
    }
    auto body = nlohmann::json::parse(res.body);
    EXPECT_EQ(body["message"], err.message);
  }
}

TEST(LookupStatusTest, ATakenConnectionIsAnswered404Or503) {
  for (const LookupError& err : kErrors) {
    std::string r = refusal_response(err);
    const std::size_t end = r.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos);
    const std::string head = r.substr(0, end);
    const bool not_found = err.kind == LookupFailure::kNotFound;
    EXPECT_EQ(head.rfind(not_found ? "HTTP/1.1 404 Not Found\r\n"
                                   : "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n",
                         0),
              0u)
        << head;
    EXPECT_EQ(head.find("Retry-After") != std::string::npos, !not_found) << head;
    EXPECT_NE(head.find("Connection: close"), std::string::npos) << head;
  }
}

TEST(LookupStatusTest, TheRefusalBodyIsJsonWhateverTheMessageHolds) {
  const std::string hostile = "stream a\"},\"x\":\"y\\\n\r\t\x01 gone";
  for (LookupFailure kind : {LookupFailure::kNotFound, LookupFailure::kBusy}) {
    std::string r = refusal_response(LookupError{kind, hostile, 1, "", ""});
    const std::size_t end = r.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos);
    const std::string head = r.substr(0, end);
    const std::string body = r.substr(end + 4);
    EXPECT_NE(head.find("Content-Length: " + std::to_string(body.size())), std::string::npos);
    auto doc = nlohmann::json::parse(body);
    ASSERT_TRUE(doc.is_object());
    EXPECT_EQ(doc.size(), 2u) << body;
    EXPECT_EQ(doc["message"], hostile);
    EXPECT_EQ(doc["error"], kind == LookupFailure::kNotFound ? "not_found" : "unavailable");
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::server
