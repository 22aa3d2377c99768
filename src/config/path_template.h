// The `path` of a stream: "/events/orders" or a template with {param}
// placeholders such as "/events/orders/{customer}".
//
// Pure; callable from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pb::config {

// Every stream path starts with this prefix.
inline constexpr std::string_view kEventsPrefix = "/events/";

// One '/'-separated piece of a path. A placeholder always fills a whole
// segment, so a parameter value never contains '/'.
struct PathSegment {
  std::string text;    // literal text, or the parameter name
  bool param = false;  // true for "{name}"
  bool operator==(const PathSegment& o) const { return text == o.text && param == o.param; }
};

// [A-Za-z_][A-Za-z0-9_]*: the names allowed inside "{...}".
bool is_param_name(std::string_view name);

// Splits `path` into segments, "events" included. Rules: starts with
// "/events/", no empty, "." or ".." segments, no trailing '/', no query or
// fragment, literal characters are RFC 3986 pchars (percent-escapes must be
// well formed), each placeholder fills a whole segment and appears once.
// On failure returns false and sets `why` to a phrase such as
// `must start with "/events/"`.
bool parse_path_template(std::string_view path, std::vector<PathSegment>& out, std::string& why);

}  // namespace pb::config
