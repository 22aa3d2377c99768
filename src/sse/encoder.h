// Server-Sent Events framing (WHATWG HTML, "Server-sent events", event stream
// interpretation). Pure; callable from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace pb::sse {

// A comment line: keeps proxies and browsers from timing the connection out.
inline constexpr std::string_view kHeartbeat = ":\n\n";

// Appends one event: `id:` (omitted when `id` is empty), `event:` (omitted
// when empty or "message"), one `data:` line per line of `data` (split on
// CRLF, LF and CR, so a payload can never start a new field), and the blank
// line that dispatches it. CR, LF and NUL are removed from `id` and `type`:
// an id or event name can never inject a field, and an id with NUL would be
// ignored by browsers. An id or type made only of those counts as empty.
void append_event(std::string& out, std::string_view id, std::string_view type,
                  std::string_view data);
std::string encode_event(std::string_view id, std::string_view type, std::string_view data);

// `retry: <ms>` followed by a blank line.
std::string encode_retry(std::chrono::milliseconds retry);

}  // namespace pb::sse
