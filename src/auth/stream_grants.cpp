#include "auth/stream_grants.h"

namespace pb::auth {
namespace {

bool valid_pattern_segment(std::string_view seg) {
  return seg == "*" || seg.find('*') == std::string_view::npos;
}

}  // namespace

bool split_address(std::string_view text, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t pos = 0;
  while (true) {
    const std::size_t slash = text.find('/', pos);
    const std::string_view seg =
        text.substr(pos, slash == std::string_view::npos ? slash : slash - pos);
    if (seg.empty()) return false;
    out.push_back(seg);
    if (slash == std::string_view::npos) return true;
    pos = slash + 1;
  }
}

StreamGrants StreamGrants::all() {
  StreamGrants g;
  g.all_ = true;
  return g;
}

StreamGrants StreamGrants::from_claim(const nlohmann::json* claim) {
  StreamGrants g;
  if (claim == nullptr) return g;
  std::vector<std::string> entries;
  if (claim->is_string()) {
    const std::string& text = claim->get_ref<const std::string&>();
    std::size_t pos = 0;
    while (pos < text.size() && entries.size() < kMaxGrantEntries) {
      const std::size_t sp = text.find(' ', pos);
      const std::size_t end = sp == std::string::npos ? text.size() : sp;
      if (end > pos) entries.push_back(text.substr(pos, end - pos));
      pos = end + 1;
    }
  } else if (claim->is_array()) {
    for (const auto& e : *claim) {
      if (!e.is_string()) return StreamGrants();  // a malformed claim grants nothing
      if (entries.size() < kMaxGrantEntries) entries.push_back(e.get<std::string>());
    }
  } else {
    return g;
  }
  std::vector<std::string_view> segs;
  for (const auto& entry : entries) {
    if (entry == "*") {
      g.all_ = true;
      continue;
    }
    if (!split_address(entry, segs)) continue;
    bool ok = true;
    for (auto s : segs) ok = ok && valid_pattern_segment(s);
    if (!ok) continue;
    std::vector<std::string> pattern(segs.begin(), segs.end());
    g.patterns_.push_back(std::move(pattern));
  }
  return g;
}

bool StreamGrants::covers(std::string_view address) const {
  if (all_) return true;
  std::vector<std::string_view> segs;
  if (!split_address(address, segs)) return false;
  for (const auto& pattern : patterns_) {
    if (pattern.size() != segs.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < segs.size() && match; ++i) {
      match = pattern[i] == "*" || pattern[i] == segs[i];
    }
    if (match) return true;
  }
  return false;
}

}  // namespace pb::auth
