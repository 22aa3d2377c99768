// Event ids and the SSE framing (src/sse/).
//
// Properties:
//  - parse_event_id() accepts exactly "<lowercase hex epoch>-<seq>" with seq a
//    decimal without leading zeros that fits in 64 bits, and then str() gives
//    the same text back; every id str() writes parses back to itself.
//  - split_composite() / join_composite() are inverse: join(split(t)) == t
//    for any text, split(join(ids)) == ids when no id holds a ','.
//  - resume_id(): the trimmed header when it is not blank, else the trimmed
//    query value when that is not blank, else nothing.
//  - encode_event(id, type, data), read with the WHATWG event stream rules
//    (an independent parser below), dispatches exactly one event whose data
//    is `data` with its line breaks normalized to LF and whose type is `type`
//    (CR, LF and NUL dropped; "message" when empty), sets the last event id
//    only when the id has something left after dropping CR, LF and NUL, and
//    holds no other field (no retry:, no second id: or event:). Two encoded
//    events in a row, a heartbeat between them, read as exactly two.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_check.h"
#include "sse/encoder.h"
#include "sse/event_id.h"

namespace {

using pb::fuzz::printable;

// --- event ids ------------------------------------------------------------

bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// The grammar of an id, written out: [0-9a-f]+ "-" ("0" | [1-9][0-9]*) with
// a value below 2^64.
bool is_event_id(std::string_view t) {
  const std::size_t dash = t.find('-');
  if (dash == std::string_view::npos || dash == 0) return false;
  for (std::size_t i = 0; i < dash; ++i) {
    if (!is_lower_hex(t[i])) return false;
  }
  const std::string_view seq = t.substr(dash + 1);
  if (seq.empty() || (seq.size() > 1 && seq[0] == '0')) return false;
  unsigned __int128 value = 0;
  for (char c : seq) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > UINT64_MAX) return false;
  }
  return true;
}

void check_event_id(std::string_view text) {
  const auto id = pb::sse::parse_event_id(text);
  PB_FUZZ_CHECK(id.has_value() == is_event_id(text),
                printable(text) + (id ? " accepted" : " refused"));
  if (id) PB_FUZZ_CHECK(id->str() == text, printable(text) + " -> " + printable(id->str()));
}

void check_issued_id(FuzzedDataProvider& in) {
  // Ids as a stream issues them: a fresh epoch and any sequence number.
  const pb::sse::EventId issued{pb::sse::new_epoch(), in.ConsumeIntegral<std::uint64_t>()};
  const auto back = pb::sse::parse_event_id(issued.str());
  PB_FUZZ_CHECK(back && *back == issued,
                "issued id " + printable(issued.str()) + " does not parse");
}

void check_composite(std::string_view text) {
  const auto parts = pb::sse::split_composite(text);
  std::size_t commas = 0;
  for (char c : text) commas += c == ',';
  PB_FUZZ_CHECK(parts.size() == commas + 1, printable(text));
  PB_FUZZ_CHECK(pb::sse::join_composite(parts) == text, printable(text));
  for (const auto& p : parts) PB_FUZZ_CHECK(p.find(',') == std::string::npos, printable(text));
}

void check_join(FuzzedDataProvider& in) {
  std::vector<std::string> ids(in.ConsumeIntegralInRange<std::size_t>(1, 6));
  for (auto& id : ids) {
    id = in.ConsumeRandomLengthString(16);
    for (char& c : id) {
      if (c == ',') c = ';';
    }
  }
  PB_FUZZ_CHECK(pb::sse::split_composite(pb::sse::join_composite(ids)) == ids,
                printable(pb::sse::join_composite(ids)));
}

std::string trimmed(const std::string& s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

void check_resume(FuzzedDataProvider& in) {
  const bool has_header = in.ConsumeBool();
  const bool has_query = in.ConsumeBool();
  const std::string header = in.ConsumeRandomLengthString(24);
  const std::string query = in.ConsumeRandomLengthString(24);
  const auto got = pb::sse::resume_id(has_header ? &header : nullptr, has_query ? &query : nullptr);
  std::optional<std::string> want;
  if (has_header && !trimmed(header).empty()) {
    want = trimmed(header);
  } else if (has_query && !trimmed(query).empty()) {
    want = trimmed(query);
  }
  PB_FUZZ_CHECK(got == want, "header " + printable(header) + " query " + printable(query) + " -> " +
                                 (got ? printable(*got) : "none"));
}

// --- SSE framing ------------------------------------------------------------

struct Event {
  std::string type;
  std::string data;
};

// An event stream read as the WHATWG HTML standard ("Interpreting an event
// stream") says, kept separate from the encoder on purpose.
struct StreamReader {
  std::vector<Event> events;
  std::vector<std::string> fields;  // every field name seen, in order
  std::optional<std::string> last_id;
  std::string id_buffer;
  std::string type_buffer;
  std::string data_buffer;

  void read(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
      const std::size_t brk = s.find_first_of("\r\n", i);
      if (brk == std::string_view::npos) return;  // an unfinished line is never processed
      line(s.substr(i, brk - i));
      i = brk + 1;
      if (s[brk] == '\r' && i < s.size() && s[i] == '\n') ++i;
    }
  }

  void line(std::string_view l) {
    if (l.empty()) return dispatch();
    if (l[0] == ':') return;
    std::string_view name = l;
    std::string_view value;
    if (const std::size_t colon = l.find(':'); colon != std::string_view::npos) {
      name = l.substr(0, colon);
      value = l.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }
    fields.emplace_back(name);
    if (name == "event") {
      type_buffer = std::string(value);
    } else if (name == "data") {
      data_buffer.append(value);
      data_buffer.push_back('\n');
    } else if (name == "id") {
      if (value.find('\0') == std::string_view::npos) id_buffer = std::string(value);
    }
  }

  void dispatch() {
    last_id = id_buffer;
    if (data_buffer.empty()) {
      type_buffer.clear();
      return;
    }
    data_buffer.pop_back();
    events.push_back({type_buffer.empty() ? "message" : type_buffer, data_buffer});
    type_buffer.clear();
    data_buffer.clear();
  }
};

std::string without_breaks(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '\r' && c != '\n' && c != '\0') out.push_back(c);
  }
  return out;
}

std::string lf_breaks(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void check_encoding(FuzzedDataProvider& in) {
  const std::string id = in.ConsumeRandomLengthString(24);
  const std::string type = in.ConsumeRandomLengthString(24);
  const std::string data = in.ConsumeRandomLengthString(512);
  const std::string wire = pb::sse::encode_event(id, type, data);
  const std::string detail = "id " + printable(id) + " type " + printable(type) + " data " +
                             printable(data) + "\nwire " + printable(wire);

  StreamReader r;
  r.last_id = "before";
  r.id_buffer = "before";  // what the client held from earlier events
  r.read(wire);
  PB_FUZZ_CHECK(r.events.size() == 1, detail);
  PB_FUZZ_CHECK(r.events[0].data == lf_breaks(data), detail);
  const std::string want_type = without_breaks(type).empty() ? "message" : without_breaks(type);
  PB_FUZZ_CHECK(r.events[0].type == want_type, detail);
  const std::string want_id = without_breaks(id).empty() ? "before" : without_breaks(id);
  PB_FUZZ_CHECK(r.last_id == want_id, detail + "\nlast id " + printable(*r.last_id));
  std::size_t ids = 0;
  std::size_t types = 0;
  for (const auto& f : r.fields) {
    PB_FUZZ_CHECK(f == "id" || f == "event" || f == "data", detail + "\nfield " + printable(f));
    ids += f == "id";
    types += f == "event";
  }
  PB_FUZZ_CHECK(ids <= 1 && types <= 1, detail);

  // Framing holds across events: append_event() after another event and a
  // heartbeat gives two events, the second one unchanged.
  std::string two = pb::sse::encode_event("1-1", "snapshot", "{}");
  two += pb::sse::kHeartbeat;
  pb::sse::append_event(two, id, type, data);
  StreamReader r2;
  r2.read(two);
  PB_FUZZ_CHECK(r2.events.size() == 2, detail);
  PB_FUZZ_CHECK(r2.events[1].data == r.events[0].data && r2.events[1].type == r.events[0].type,
                detail);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_event_id(text);
  check_composite(text);
  FuzzedDataProvider in(data, size);
  check_issued_id(in);
  check_join(in);
  check_resume(in);
  check_encoding(in);
  return 0;
}
