#include "server/request_rewrite.h"

#include "auth/credential_source.h"
#include "common/ascii.h"

namespace pb::server {
namespace {

// The header fields dropped by without_range_headers().
constexpr std::string_view kRangeFields[] = {"Range", "If-Range"};

bool is_range_field(std::string_view line) {
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view name = line.substr(0, colon);
  for (std::string_view f : kRangeFields) {
    if (iequals(name, f)) return true;
  }
  return false;
}

}  // namespace

std::string without_query_param(std::string_view request, const std::string& name,
                                std::vector<std::string>& taken) {
  std::size_t eol = request.find("\r\n");
  if (eol == std::string_view::npos) return {};
  std::size_t sp1 = request.find(' ');
  if (sp1 == std::string_view::npos || sp1 >= eol) return {};
  std::size_t sp2 = request.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 > eol) sp2 = eol;
  std::string target(request.substr(sp1 + 1, sp2 - sp1 - 1));
  if (target.find('?') == std::string::npos) return {};
  std::vector<std::string> values = auth::strip_query_param(target, name);
  if (values.empty()) return {};
  taken = std::move(values);
  std::string out;
  out.reserve(request.size());
  out.append(request.substr(0, sp1 + 1));
  out.append(target);
  out.append(request.substr(sp2));
  return out;
}

std::string without_range_headers(std::string_view request) {
  // The head ends at the first empty line; the connection loop has checked
  // that every line ends with CRLF. Lines of the body are never looked at.
  std::size_t head_end = request.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return {};
  std::size_t first = request.find("\r\n");  // after the request line
  bool found = false;
  for (std::size_t at = first + 2; at < head_end + 2;) {
    std::size_t eol = request.find("\r\n", at);
    if (is_range_field(request.substr(at, eol - at))) {
      found = true;
      break;
    }
    at = eol + 2;
  }
  if (!found) return {};
  std::string out;
  out.reserve(request.size());
  out.append(request.substr(0, first + 2));
  for (std::size_t at = first + 2; at < head_end + 2;) {
    std::size_t eol = request.find("\r\n", at);
    std::string_view line = request.substr(at, eol - at);
    if (!is_range_field(line)) {
      out.append(line);
      out.append("\r\n");
    }
    at = eol + 2;
  }
  out.append(request.substr(head_end + 2));  // the blank line and the body
  return out;
}

}  // namespace pb::server
