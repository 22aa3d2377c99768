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

// True if `host` (without brackets) is an IPv6 address as inet_pton(3)
// reads one ("::1", "2001:db8::8", "::ffff:192.0.2.1").
bool is_ipv6_address(std::string_view host);

}  // namespace pb::config
