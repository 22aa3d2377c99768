#include "sse_parser.h"

namespace pbl {

namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";
}

void SseParser::feed(const char* data, std::size_t size, Sink& sink) {
  const char* p = data;
  const char* const end = data + size;
  if (after_cr_ && p < end) {
    // A CR ended the previous chunk; a LF right after it belongs to it.
    if (*p == '\n') ++p;
    after_cr_ = false;
  }
  while (p < end) {
    const char* q = p;
    while (q < end && *q != '\n' && *q != '\r') ++q;
    if (q == end) {
      line_.append(p, static_cast<std::size_t>(end - p));
      return;
    }
    if (line_.empty()) {
      process_line(std::string_view(p, static_cast<std::size_t>(q - p)), sink);
    } else {
      line_.append(p, static_cast<std::size_t>(q - p));
      process_line(line_, sink);
      line_.clear();
    }
    if (*q == '\r') {
      ++q;
      if (q == end) {
        after_cr_ = true;
      } else if (*q == '\n') {
        ++q;
      }
    } else {
      ++q;
    }
    p = q;
  }
}

void SseParser::reset_stream() {
  line_.clear();
  data_.clear();
  type_.clear();
  after_cr_ = false;
  bom_checked_ = false;
}

void SseParser::process_line(std::string_view line, Sink& sink) {
  if (!bom_checked_) {
    bom_checked_ = true;
    if (line.substr(0, kBom.size()) == kBom) line.remove_prefix(kBom.size());
  }
  if (line.empty()) {
    dispatch(sink);
    return;
  }
  if (line.front() == ':') {
    sink.on_comment(line.substr(1));
    return;
  }
  std::string_view field = line;
  std::string_view value;
  const std::size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  } else if (field == "retry") {
    if (value.empty()) return;
    std::uint64_t ms = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return;
      ms = ms * 10 + static_cast<std::uint64_t>(c - '0');
    }
    sink.on_retry(ms);
  }
  // Any other field is ignored.
}

void SseParser::dispatch(Sink& sink) {
  if (data_.empty()) {
    type_.clear();
    return;
  }
  data_.pop_back();  // the LF after the last data line
  SseEvent event;
  event.type = type_.empty() ? std::string_view("message") : std::string_view(type_);
  event.data = data_;
  event.id = last_id_;
  sink.on_event(event);
  data_.clear();
  type_.clear();
}

}  // namespace pbl
