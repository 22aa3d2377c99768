// The `url` of a stream: an absolute http:// or https:// URL whose path and
// query may hold {param} placeholders.
//
// Pure; callable from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pb::config {

struct UrlParts {
  std::string scheme;                     // "http" or "https" (lower-cased)
  std::string host;                       // IPv6 literals without their brackets
  int port = 0;                           // 0: the scheme's default port
  std::string target;                     // path and query as written, "/" if empty
  std::vector<std::string> placeholders;  // names inside {...}, in order
};

// Splits and checks `text`. Rejects: other schemes, a missing host, user
// info (credentials belong in headers), ports outside 1..65535, fragments,
// spaces, control and non-ASCII characters and other characters that must
// be percent-encoded, malformed percent-escapes, and placeholders in the
// scheme/host/port part. On failure returns false and sets `why` to a
// phrase such as `has no host`.
bool parse_url(std::string_view text, UrlParts& out, std::string& why);

}  // namespace pb::config
