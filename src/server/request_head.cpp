#include "server/request_head.h"

#include "common/ascii.h"

#include <cctype>
#include <limits>
#include <vector>

namespace pb::server {
namespace {

// Calls fn on each comma-separated, trimmed, non-empty element.
template <typename Fn>
void each_token(std::string_view v, Fn fn) {
  while (!v.empty()) {
    std::size_t comma = v.find(',');
    std::string_view item = trim_ows(v.substr(0, comma));
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
}

int bad(std::string& why, const char* text, int status = 400) {
  why = text;
  return status;
}

}  // namespace

HeadScanner::Result HeadScanner::scan(std::string_view buf, std::size_t& skip,
                                      std::size_t& head_bytes) {
  for (; pos_ < buf.size(); ++pos_) {
    const char c = buf[pos_];
    if (pos_ > 0 && buf[pos_ - 1] == '\r' && c != '\n') return kBad;  // a lone CR
    if (c == '\r') continue;
    if (c != '\n') {
      started_ = true;
      continue;
    }
    if (pos_ == line_start_ || buf[pos_ - 1] != '\r') return kBad;  // bare LF
    const bool empty = pos_ - line_start_ == 1;
    line_start_ = pos_ + 1;
    if (!empty) continue;
    if (!started_) {
      if (++empty_lines_ > kMaxEmptyLinesBeforeRequest) return kBadLeading;
      skip_ = line_start_;  // an empty line before the request line
      continue;
    }
    ++pos_;
    skip = skip_;
    head_bytes = pos_ - skip_;
    return kComplete;
  }
  return kIncomplete;
}

int parse_request_head(std::string_view head, RequestHead& out, std::string& why) {
  out = RequestHead{};
  // Lines without their CRLF; the last one is the blank line.
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    std::size_t lf = head.find('\n');
    if (lf == std::string_view::npos || lf == 0 || head[lf - 1] != '\r') {
      return bad(why, "every line must end with CRLF");
    }
    lines.push_back(head.substr(0, lf - 1));
    head.remove_prefix(lf + 1);
  }
  if (lines.size() < 2 || !lines.back().empty()) return bad(why, "incomplete request head");
  lines.pop_back();

  // Request line: method SP target SP version.
  std::string_view rl = lines[0];
  std::size_t sp1 = rl.find(' ');
  std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : rl.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      rl.find(' ', sp2 + 1) != std::string_view::npos) {
    return bad(why, "the request line must be: METHOD target HTTP/1.1");
  }
  std::string_view method = rl.substr(0, sp1);
  std::string_view target = rl.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = rl.substr(sp2 + 1);
  if (method.empty()) return bad(why, "no method");
  for (char c : method) {
    if (!is_tchar(c)) return bad(why, "invalid method");
  }
  if (target.empty()) return bad(why, "no request target");
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return bad(why, "invalid character in the request target");
  }
  bool http10 = false;
  if (version == "HTTP/1.0") {
    http10 = true;
  } else if (version != "HTTP/1.1") {
    if (version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
        std::isdigit(static_cast<unsigned char>(version[5])) && version[6] == '.' &&
        std::isdigit(static_cast<unsigned char>(version[7]))) {
      return bad(why, "only HTTP/1.1 and HTTP/1.0 are served", 505);
    }
    return bad(why, "invalid HTTP version");
  }
  out.method = std::string(method);
  out.keep_alive = !http10;

  int hosts = 0;
  int lengths = 0;
  bool has_te = false;
  bool chunked_only = false;
  bool conn_close = false;
  bool conn_keep_alive = false;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.front() == ' ' || line.front() == '\t') {
      return bad(why, "obsolete line folding is not accepted");
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return bad(why, "a header line without name");
    std::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!is_tchar(c)) return bad(why, "invalid header name");
    }
    std::string_view raw = line.substr(colon + 1);
    for (char c : raw) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && u != '\t') || u == 0x7f) return bad(why, "control character in a header");
    }
    std::string_view value = trim_ows(raw);
    if (iequals(name, "Content-Length")) {
      if (++lengths > 1) return bad(why, "Content-Length given more than once");
      if (value.empty()) return bad(why, "empty Content-Length");
      std::uint64_t n = 0;
      for (char c : value) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return bad(why, "invalid Content-Length");
        auto d = static_cast<std::uint64_t>(c - '0');
        // Saturates: a length past 2^64 is refused as too large (413), as
        // any length over the limit is.
        n = n > (std::numeric_limits<std::uint64_t>::max() - d) / 10
                ? std::numeric_limits<std::uint64_t>::max()
                : n * 10 + d;
      }
      out.content_length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      has_te = true;
      int codings = 0;
      bool all_chunked = true;
      each_token(value, [&](std::string_view t) {
        ++codings;
        all_chunked = all_chunked && iequals(t, "chunked");
      });
      chunked_only = codings == 1 && all_chunked && !chunked_only;
    } else if (iequals(name, "Host")) {
      ++hosts;
    } else if (iequals(name, "Connection")) {
      each_token(value, [&](std::string_view t) {
        if (iequals(t, "close")) conn_close = true;
        if (iequals(t, "keep-alive")) conn_keep_alive = true;
      });
    } else if (iequals(name, "Expect")) {
      if (!iequals(value, "100-continue")) return bad(why, "unsupported expectation", 417);
      out.expect_continue = true;
    }
  }
  if (has_te) {
    if (lengths > 0) return bad(why, "Content-Length together with Transfer-Encoding");
    if (http10) return bad(why, "Transfer-Encoding in an HTTP/1.0 request");
    if (chunked_only)
      return bad(why, "chunked request bodies are not accepted: send Content-Length", 411);
    return bad(why, "unsupported Transfer-Encoding", 501);
  }
  if (hosts > 1) return bad(why, "Host given more than once");
  if (hosts == 0 && !http10) return bad(why, "HTTP/1.1 requests need a Host header");
  if (conn_close) out.keep_alive = false;
  if (http10 && conn_keep_alive && !conn_close) out.keep_alive = true;
  if (out.expect_continue && http10) out.expect_continue = false;  // RFC 9110 10.1.1
  return 0;
}

}  // namespace pb::server
