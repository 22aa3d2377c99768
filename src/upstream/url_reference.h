// URL references as paged lists and login redirects need them, with
// libcurl's URL API (curl_url: RFC 3986 parsing and reference resolution),
// rather than by hand.
//
// Threads: pure functions, any thread.
#pragma once

#include <optional>
#include <string>

namespace pb::upstream {

// `reference` (absolute or relative) resolved against `base`, with libcurl's
// URL parser; nullopt if it does not resolve to an http(s) URL.
std::optional<std::string> resolve_reference(const std::string& base, const std::string& reference);
// `url` with the query parameter name=value added (value percent-encoded).
std::optional<std::string> with_query_param(const std::string& url, const std::string& name,
                                            const std::string& value);
// "scheme://host:port" of an absolute URL (the port explicit), "" if none.
std::string origin_of(const std::string& url);

// The path of an absolute URL ("" if it does not parse).
std::string path_of(const std::string& url);
// The URL as libcurl writes it (scheme and host lower-cased, a default port
// dropped, dot segments removed): two spellings of one URL compare equal.
std::string normalized(const std::string& url);

}  // namespace pb::upstream
