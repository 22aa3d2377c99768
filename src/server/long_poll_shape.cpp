#include "server/long_poll_shape.h"

#include <httplib.h>

#include "common/ascii.h"
#include "sse/event_id.h"

namespace pb::server {
namespace {

constexpr std::string_view kPositionParam = "lastEventId";
constexpr std::string_view kPositionHeader = "Last-Event-ID";

// Appends `query` to `key` without its lastEventId parameters, which go to
// `position` (joined by '&'). False when a parameter's name is written in a
// way only decoding could tell: no other parameter can then be read as
// lastEventId by httplib, so parsing `position` alone reads what it would.
bool split_query(std::string_view query, std::string& key, std::string& position) {
  bool first = true;
  while (true) {
    const std::size_t amp = query.find('&');
    const std::string_view piece = query.substr(0, amp);
    const std::string_view name = piece.substr(0, piece.find('='));
    if (name.find_first_of("%+") != std::string_view::npos) return false;
    // httplib trims blanks around a parameter before splitting it.
    if (trim_ows(name) != kPositionParam) {
      if (!first) key += '&';
      key += piece;
      first = false;
    } else {
      if (!position.empty()) position += '&';
      position += piece;
    }
    if (amp == std::string_view::npos) return true;
    query.remove_prefix(amp + 1);
  }
}

}  // namespace

bool read_long_poll_shape(std::string_view request, LongPollShape& out) {
  const std::size_t head_end = request.find("\r\n\r\n");
  if (head_end == std::string_view::npos || head_end + 4 != request.size()) return false;
  std::string_view head = request.substr(0, head_end + 2);  // each line ends with CRLF
  const std::size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1 || line.substr(0, sp1) != "GET") return false;
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::size_t q = target.find('?');

  out.key.clear();
  out.key.reserve(request.size());
  out.key.append(line.substr(0, sp1 + 1));
  out.key.append(target.substr(0, q));
  std::string position;
  if (q != std::string_view::npos) {
    out.key += '?';
    if (!split_query(target.substr(q + 1), out.key, position)) return false;
  }
  out.key.append(line.substr(sp2));
  out.key += '\n';

  std::optional<std::string> header;
  head.remove_prefix(line_end + 2);
  while (!head.empty()) {
    const std::size_t end = head.find("\r\n");
    const std::string_view field = head.substr(0, end);
    head.remove_prefix(end + 2);
    const std::size_t colon = field.find(':');
    if (colon != std::string_view::npos && iequals(field.substr(0, colon), kPositionHeader)) {
      if (!header) header = std::string(trim_ows(field.substr(colon + 1)));
      continue;
    }
    out.key.append(field);
    out.key += '\n';
  }

  std::optional<std::string> param;
  constexpr std::string_view kPlain = "lastEventId=";
  if (position.size() > kPlain.size() && position.compare(0, kPlain.size(), kPlain) == 0 &&
      position.find_first_of("%+= \t&", kPlain.size()) == std::string::npos) {
    // One parameter whose value decoding leaves as it is: what httplib
    // would read, without its parser's allocations.
    param = position.substr(kPlain.size());
  } else if (!position.empty()) {
    httplib::Params params;
    httplib::detail::parse_query_text(position, params);
    // The first value, as httplib's get_param_value() gives it.
    auto range = params.equal_range(std::string(kPositionParam));
    if (range.first != range.second) param = range.first->second;
  }
  out.last_id = sse::resume_id(header ? &*header : nullptr, param ? &*param : nullptr);
  return true;
}

}  // namespace pb::server
