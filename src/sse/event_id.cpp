#include "sse/event_id.h"
#include "common/ascii.h"

#include <openssl/rand.h>

#include <limits>
#include <random>

namespace pb::sse {

std::string EventId::str() const {
  return epoch + "-" + std::to_string(seq);
}

std::string new_epoch() {
  unsigned char bytes[4];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    std::random_device rd;
    for (auto& b : bytes) b = static_cast<unsigned char>(rd());
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::optional<EventId> parse_event_id(std::string_view text) {
  std::size_t dash = text.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 >= text.size()) return std::nullopt;
  std::string_view epoch = text.substr(0, dash);
  std::string_view seq = text.substr(dash + 1);
  for (char c : epoch) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  if (seq.size() > 1 && seq[0] == '0') return std::nullopt;
  // Every sequence number str() can write parses back, up to 2^64 - 1.
  std::uint64_t v = 0;
  for (char c : seq) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return EventId{std::string(epoch), v};
}

std::vector<std::string> split_composite(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = text.find(',', start);
    out.emplace_back(
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string join_composite(const std::vector<std::string>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) out.push_back(',');
    out += ids[i];
  }
  return out;
}

std::optional<std::string> resume_id(const std::string* header, const std::string* query) {
  for (const std::string* v : {header, query}) {
    if (v == nullptr) continue;
    std::string_view t = trim_ows(*v);
    if (!t.empty()) return std::string(t);
  }
  return std::nullopt;
}

}  // namespace pb::sse
