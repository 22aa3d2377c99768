// A stream's `xml:` section (with `parse: xml`): namespaces and the element
// paths that are always arrays. Each path is checked here, with its
// file:line:col, so a typo is not a silently ignored rule.
//
// Threads: the loading thread (a Loader belongs to one load).
#include <algorithm>

#include "common/ascii.h"
#include "config/keys.h"
#include "config/loader_impl.h"

namespace pb::config {
namespace {

// Why `path` is not an absolute element path of local names without
// indices ("/Envelope/Body/list/item"), or "" if it is one.
std::string path_problem(const std::string& path) {
  if (path.empty() || path[0] != '/') return "must start with / (an absolute element path)";
  if (path.size() > 1 && path.back() == '/') return "must not end with /";
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string name = path.substr(start, end - start);
    if (name.empty()) return "has an empty element name";
    for (char c : name) {
      if (c == '[' || c == ']') return "must not hold indices: it names every such element";
      if (c == ':') return "names elements by their local names, without a prefix";
      if (c == '@' || c == '*' || c == ' ' || c == '\t' || static_cast<unsigned char>(c) < 0x20) {
        return quote(name) + " is not an element name";
      }
    }
    const char first = name[0];
    if ((first >= '0' && first <= '9') || first == '-' || first == '.') {
      return quote(name) + " is not an element name";
    }
    start = end + 1;
  }
  return {};
}

}  // namespace

void Loader::read_xml(const Field& f, StreamConfig& s) {
  const std::vector<std::string>& kKeys = child_keys("streams[].xml");
  auto fields = read_section(f, &kKeys);
  if (!fields) return;
  if (const Field* x = fields->find("namespaces")) {
    std::string mode;
    if (read_string(*x, mode)) {
      if (lowercase(mode) == "keep") {
        s.xml.keep_namespaces = true;
      } else if (lowercase(mode) == "drop") {
        s.xml.keep_namespaces = false;
      } else {
        problem(*x, quote(mode) + " is not one of drop, keep");
      }
    }
  }
  if (const Field* x = fields->find("arrays")) {
    if (auto items = read_list(*x, "a list of element paths")) {
      for (const Field& item : *items) {
        std::string path;
        if (!read_string(item, path)) continue;
        const std::string why = path_problem(path);
        if (!why.empty()) {
          problem(item, quote(path) + " " + why);
          continue;
        }
        if (std::find(s.xml.arrays.begin(), s.xml.arrays.end(), path) == s.xml.arrays.end()) {
          s.xml.arrays.push_back(std::move(path));
        }
      }
    }
  }
}

}  // namespace pb::config
