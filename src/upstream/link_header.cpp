#include "upstream/link_header.h"
#include "common/ascii.h"

#include <cctype>
#include <sstream>

namespace pb::upstream {
namespace {

// Reads one link-value from `v` at `i`: returns its target if its rel holds
// "next"; leaves `i` after the comma that ends it (or at the end).
std::optional<std::string> read_link_value(const std::string& v, std::size_t& i, bool& ok) {
  ok = false;
  while (i < v.size() && (is_ows(v[i]) || v[i] == ',')) ++i;
  if (i >= v.size()) return std::nullopt;
  std::optional<std::string> target;
  bool next = false;
  if (v[i] == '<') {
    const std::size_t close = v.find('>', i + 1);
    if (close == std::string::npos) {
      i = v.size();
      return std::nullopt;
    }
    target = v.substr(i + 1, close - i - 1);
    i = close + 1;
  }
  // Parameters until the comma that ends this link-value (outside quotes).
  while (i < v.size() && v[i] != ',') {
    while (i < v.size() && is_ows(v[i])) ++i;
    if (i < v.size() && v[i] == ';') {
      ++i;
      while (i < v.size() && is_ows(v[i])) ++i;
      std::size_t name_start = i;
      while (i < v.size() && v[i] != '=' && v[i] != ';' && v[i] != ',' && !is_ows(v[i])) ++i;
      const std::string name = lowercase(v.substr(name_start, i - name_start));
      while (i < v.size() && is_ows(v[i])) ++i;
      std::string value;
      if (i < v.size() && v[i] == '=') {
        ++i;
        while (i < v.size() && is_ows(v[i])) ++i;
        if (i < v.size() && v[i] == '"') {
          ++i;
          while (i < v.size() && v[i] != '"') {
            if (v[i] == '\\' && i + 1 < v.size()) ++i;
            value += v[i++];
          }
          if (i < v.size()) ++i;  // the closing quote
        } else {
          while (i < v.size() && v[i] != ';' && v[i] != ',' && !is_ows(v[i])) value += v[i++];
        }
      }
      if (name == "rel") {
        std::istringstream types(lowercase(value));
        std::string t;
        while (types >> t) next = next || t == "next";
      }
    } else if (i < v.size() && v[i] != ',') {
      ++i;  // stray character: skip it
    }
  }
  if (i < v.size()) ++i;  // the comma
  ok = target.has_value();
  return next ? target : std::nullopt;
}

}  // namespace

std::optional<std::string> next_link(const std::vector<std::string>& values) {
  for (const std::string& v : values) {
    std::size_t i = 0;
    while (i < v.size()) {
      bool ok = false;
      if (auto target = read_link_value(v, i, ok)) return target;
    }
  }
  return std::nullopt;
}

}  // namespace pb::upstream
