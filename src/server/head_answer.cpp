#include "server/head_answer.h"

namespace pb::server {
namespace {

// Not a number, so that it can never be taken for a length; only ever seen
// between a handler and the post-routing step of the same answer.
constexpr const char* kNoLength = "unknown";

}  // namespace

void without_length(httplib::Response& res) {
  res.set_header("Content-Length", kNoLength);
}

void finish_head(const httplib::Request& req, httplib::Response& res) {
  if (req.method != "HEAD") return;
  if (res.get_header_value("Accept-Ranges") == "bytes") res.headers.erase("Accept-Ranges");
  if (res.get_header_value("Content-Length") == kNoLength) res.headers.erase("Content-Length");
}

}  // namespace pb::server
