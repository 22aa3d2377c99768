// Entity-tag comparison for conditional requests (RFC 9110 8.8.3, 13.1.2),
// shared by every route that answers If-None-Match: a stream's document
// (api_streams.cpp), the browser client (client_script) and static_dir
// (static_files). Pure; callable from any thread.
//
// Hand-written: cpp-httplib answers no conditional request itself, and
// Debian has no library for just this comparison.
#pragma once

#include <string>

namespace pb::server {

// Whether If-None-Match `if_none_match` matches `etag` (as sent in ETag,
// quoted, with or without W/): true for the field value "*" alone (any
// current representation), or when one of the listed entity tags is the
// same opaque tag (weak comparison, as If-None-Match uses). A '*' inside a
// quoted tag is one of its characters; unquoted or unterminated tags never
// match.
bool none_match_hits(const std::string& if_none_match, const std::string& etag);

}  // namespace pb::server
