#include "sse/encoder.h"

namespace pb::sse {
namespace {

bool dropped(char c) {
  return c == '\r' || c == '\n' || c == '\0';
}

// True if `value` keeps something once CR, LF and NUL are dropped.
bool has_content(std::string_view value) {
  for (char c : value) {
    if (!dropped(c)) return true;
  }
  return false;
}

void append_field_value(std::string& out, std::string_view value) {
  for (char c : value) {
    if (!dropped(c)) out.push_back(c);
  }
}

}  // namespace

void append_event(std::string& out, std::string_view id, std::string_view type,
                  std::string_view data) {
  out.reserve(out.size() + id.size() + type.size() + data.size() + 32);
  // No id line at all for an event without an id: an empty "id:" would
  // reset the client's last event id, and it must keep it to resume. An id
  // made only of dropped characters counts as none.
  if (has_content(id)) {
    out += "id: ";
    append_field_value(out, id);
    out.push_back('\n');
  }
  if (has_content(type) && type != "message") {
    out += "event: ";
    append_field_value(out, type);
    out.push_back('\n');
  }
  // Every line of the payload becomes its own data: line; the client joins
  // them with LF. CRLF counts as one line break, as the parser sees it.
  std::size_t start = 0;
  for (;;) {
    std::size_t brk = data.find_first_of("\r\n", start);
    out += "data: ";
    if (brk == std::string_view::npos) {
      out.append(data.substr(start));
      out.push_back('\n');
      break;
    }
    out.append(data.substr(start, brk - start));
    out.push_back('\n');
    start = brk + 1;
    if (data[brk] == '\r' && start < data.size() && data[start] == '\n') ++start;
  }
  out.push_back('\n');
}

std::string encode_event(std::string_view id, std::string_view type, std::string_view data) {
  std::string out;
  append_event(out, id, type, data);
  return out;
}

std::string encode_retry(std::chrono::milliseconds retry) {
  return "retry: " + std::to_string(retry.count()) + "\n\n";
}

}  // namespace pb::sse
