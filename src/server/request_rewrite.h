// Rewrites of one buffered request (head and body) before cpp-httplib parses
// it (server/httplib_bridge). Each returns the rewritten request, or an empty
// string when nothing had to change, so that the common request is not
// copied.
//
// Threads: pure functions, called by the HTTP workers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pb::server {

// `request` with the query parameter `name` removed from its target (the
// request line's second word); its values go to `taken`.
std::string without_query_param(std::string_view request, const std::string& name,
                                std::vector<std::string>& taken);

// `request` without the header fields that ask for partial content: `Range`
// and `If-Range` (any case). pollbridge serves no ranges (docs/security.md,
// "No response larger than its plain answer"): cpp-httplib 0.11.4 answers a
// multi-range request with one full copy of the body per range, without a
// limit, and a malformed range with 416. Without these fields every route,
// static files and content providers included, answers 200 with the whole
// body, which RFC 9110 14.2 allows ("a server MAY ignore the Range header").
std::string without_range_headers(std::string_view request);

// The header fields of a request (its head up to the blank line) as the
// client sent them: name and value with the optional whitespace around the
// value removed. cpp-httplib 0.11.4 percent-decodes every header value
// (`X-User: a%0D%0AB` reads as "a\r\nB"), which would let a forwarded
// header split the upstream request and a Last-Event-ID or cookie mean
// something else than what was sent; the bridge puts these raw values in
// its place. Fields with an empty value are left out, as httplib does.
template <typename Fn>
void for_each_raw_header(std::string_view request, Fn&& fn) {
  std::size_t head_end = request.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return;
  std::size_t at = request.find("\r\n") + 2;  // after the request line
  while (at < head_end + 2) {
    std::size_t eol = request.find("\r\n", at);
    std::string_view line = request.substr(at, eol - at);
    at = eol + 2;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (!value.empty()) fn(line.substr(0, colon), value);
  }
}

}  // namespace pb::server
