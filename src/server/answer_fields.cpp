#include "server/answer_fields.h"

#include "common/time_format.h"

namespace pb::server {
namespace {

// Not a number, so that it can never be taken for a length; only ever seen
// between a handler and the post-routing step of the same answer.
constexpr const char* kNoLength = "unknown";

}  // namespace

void without_length(httplib::Response& res) {
  res.set_header("Content-Length", kNoLength);
}

void finish_fields(const httplib::Request& req, httplib::Response& res) {
  if (!res.has_header("Date")) res.set_header("Date", http_date_now());
  // A 204 has no content and names no length; a 304's content is never
  // sent, and the length cpp-httplib put there (0) is not its 200's.
  if (res.status == 204 || res.status == 304 ||
      res.get_header_value("Content-Length") == kNoLength) {
    res.headers.erase("Content-Length");
  }
  if (req.method == "HEAD" && res.get_header_value("Accept-Ranges") == "bytes") {
    res.headers.erase("Accept-Ranges");
  }
}

}  // namespace pb::server
