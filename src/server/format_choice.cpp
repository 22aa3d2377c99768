#include "server/format_choice.h"
#include "common/ascii.h"

#include <cctype>

namespace pb::server {
namespace {

// RFC 9110 12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ),
// in thousandths; -1 when malformed.
int parse_q(std::string_view v) {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return -1;
  int whole = v[0] - '0';
  int frac = 0;
  if (v.size() > 1) {
    if (v[1] != '.' || v.size() > 5) return -1;
    int scale = 100;
    for (std::size_t i = 2; i < v.size(); ++i, scale /= 10) {
      if (!std::isdigit(static_cast<unsigned char>(v[i]))) return -1;
      frac += (v[i] - '0') * scale;
    }
  }
  int q = whole * 1000 + frac;
  return q > 1000 ? -1 : q;
}

std::optional<stream::Format> format_of_media_type(const std::string& type) {
  if (type == "application/json-patch+json") return stream::Format::kJsonPatch;
  if (type == "application/merge-patch+json") return stream::Format::kMergePatch;
  if (type == "application/json") return stream::Format::kSnapshot;
  return std::nullopt;
}

}  // namespace

stream::Format format_from_accept(std::string_view accept) {
  stream::Format best = stream::Format::kNative;
  int best_q = 0;
  while (!accept.empty()) {
    std::size_t comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    std::size_t semi = range.find(';');
    auto format = format_of_media_type(lowercase(trim_ows(range.substr(0, semi))));
    if (!format) continue;
    int q = 1000;
    while (semi != std::string_view::npos) {
      range = range.substr(semi + 1);
      semi = range.find(';');
      std::string_view param = trim_ows(range.substr(0, semi));
      if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        q = parse_q(trim_ows(param.substr(2)));
      }
    }
    if (q > best_q) {  // strictly: the first of equals wins; q=0 or malformed never
      best = *format;
      best_q = q;
    }
  }
  return best;
}

bool choose_format(const std::vector<std::string>& query, const std::string* accept,
                   FormatChoice& out, std::string& error) {
  out = FormatChoice{};
  if (!query.empty()) {
    for (const auto& v : query) {
      if (v != query.front()) {
        error = "format is given more than once, with different values";
        return false;
      }
    }
    auto f = stream::parse_format(query.front());
    if (!f) {
      // The value is not echoed: it is the client's, and may be anything.
      error = "unknown format: use format=snapshot, format=json-patch or format=merge-patch";
      return false;
    }
    out.format = *f;
    out.demanded = true;
    return true;
  }
  if (accept) out.format = format_from_accept(*accept);
  return true;
}

}  // namespace pb::server
