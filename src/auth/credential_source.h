// Where a credential comes from in a request, and the only place that reads
// it there:
//
//  * `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme in any case,
//    the token in token68 syntax). Authorization fields with another scheme
//    are not pollbridge's (a stream may forward them upstream) and are
//    ignored here;
//  * the cookie named auth.cookie (RFC 6265 syntax; a quoted value is
//    unquoted), in any Cookie field;
//  * the query parameter named auth.query_param, which the front door
//    removes from the request target with strip_query_param() before the
//    target is parsed, routed or logged (EventSource cannot set headers).
//
// Precedence: none. RFC 6750 §2 says a client uses one method per request;
// pollbridge accepts the same token arriving by several (a page that sets
// the cookie and also passes ?access_token=), and refuses as a conflict (400
// invalid_request) two different values, whether from two sources or
// repeated in one (two cookies of that name, the parameter twice), and two
// Bearer fields even when equal (a repeated parameter): with two
// credentials it is not clear whose request it is, and picking one would let
// an ambient cookie override an explicit header or the reverse. Empty cookie
// and parameter values count as absent.
//
// Pure; callable from any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/reason.h"
#include "common/ascii.h"

namespace pb::auth {

enum class Source { kNone, kHeader, kCookie, kQuery };

// "none", "header", "cookie", "query" (for logs).
const char* source_name(Source source);

// What the policy reads of a request. `headers` are views into the
// request (every field, names in any case); `query_tokens` are the values
// strip_query_param() took out of its target.
struct RequestView {
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::vector<std::string> query_tokens;

  // Fills `headers` from any map of name -> value (httplib::Headers).
  template <typename Headers>
  static RequestView of(const Headers& fields, std::vector<std::string> query_tokens = {}) {
    RequestView v;
    for (const auto& [name, value] : fields) v.headers.emplace_back(name, value);
    v.query_tokens = std::move(query_tokens);
    return v;
  }
};

struct Credential {
  // kOk (token set), kMissing, kConflict, or kMalformed (a Bearer field
  // whose token is not token68).
  Reason reason = Reason::kMissing;
  std::string token;
  Source source = Source::kNone;
};

// The one credential of `request` under the rules above. `cookie` empty:
// cookies are not read.
Credential find_credential(const RequestView& request, std::string_view cookie);

// Removes every parameter named `name` (compared after percent-decoding,
// so "access%5Ftoken" is removed too) from the query of `target`
// ("/events?stream=a&access_token=T" becomes "/events?stream=a"; a query
// left empty loses its '?') and returns their values, percent-decoded
// ('+' is a space, as in forms), in order. Other parameters are kept byte
// for byte. Parameters are separated by '&', as httplib splits them.
std::vector<std::string> strip_query_param(std::string& target, std::string_view name);

// `cookie_header` (a Cookie field value) without the cookies named `name`,
// for a stream that forwards Cookie upstream: pollbridge's own token cookie
// is never forwarded. Other cookies are kept as written, joined by "; ".
std::string strip_cookie(std::string_view cookie_header, std::string_view name);

// Case-insensitive ASCII comparison (header field names): common/ascii.h.
using pb::iequals;

}  // namespace pb::auth
