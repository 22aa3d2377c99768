#include "server/entity_tag.h"

#include "common/ascii.h"

namespace pb::server {

bool none_match_hits(const std::string& if_none_match, const std::string& etag) {
  if (trim_ows(if_none_match) == "*") return true;
  auto opaque = [](const std::string& t) { return t.rfind("W/", 0) == 0 ? t.substr(2) : t; };
  const std::string want = opaque(etag);
  std::size_t i = 0;
  while (i < if_none_match.size()) {
    std::size_t open = if_none_match.find('"', i);
    if (open == std::string::npos) break;
    std::size_t close = if_none_match.find('"', open + 1);
    if (close == std::string::npos) break;
    if (if_none_match.compare(open, close - open + 1, want) == 0) return true;
    i = close + 1;
  }
  return false;
}

}  // namespace pb::server
