#include "diff/filter.h"

#include <algorithm>
#include <cstdint>

#include "json/members.h"

namespace pb::diff {
namespace {

// Marks a value to be dropped. Parsed documents hold no binary values except
// raw numbers (another subtype), so a marker cannot be mistaken for data.
constexpr std::uint8_t kDroppedSubtype = 0x64;

bool is_dropped(const Json& v) {
  return v.is_binary() && v.get_binary().has_subtype() &&
         v.get_binary().subtype() == kDroppedSubtype;
}

// Erases the marked children of one container, in one pass (erasing them
// one by one shifts the rest each time: O(n) per erased child).
void sweep(Json& container) {
  if (container.is_object()) {
    if (std::none_of(container.begin(), container.end(), is_dropped)) return;
    json::MemberList kept;
    kept.reserve(container.size());
    for (auto it = container.begin(); it != container.end(); ++it) {
      if (!is_dropped(it.value())) kept.emplace_back(it.key(), std::move(it.value()));
    }
    json::assign_members(container, kept);
  } else if (container.is_array()) {
    auto& elements = container.get_ref<Json::array_t&>();
    elements.erase(std::remove_if(elements.begin(), elements.end(), is_dropped), elements.end());
  }
}

Json drop_ignored(Json doc, const std::vector<json::Pointer>& ignore);

}  // namespace

Json prepare(const Json& body, const json::Pointer& select,
             const std::vector<json::Pointer>& ignore) {
  const Json* selected = select.find(body);
  if (selected == nullptr) throw DiffError("select " + select.str() + ": no such value");
  return drop_ignored(*selected, ignore);
}

Json prepare(Json&& body, const json::Pointer& select, const std::vector<json::Pointer>& ignore) {
  Json* selected = select.find(body);
  if (selected == nullptr) throw DiffError("select " + select.str() + ": no such value");
  return drop_ignored(std::move(*selected), ignore);
}

namespace {

Json drop_ignored(Json doc, const std::vector<json::Pointer>& ignore) {
  if (ignore.empty()) return doc;

  // Mark first, erase second, so that erasing one array element does not
  // shift what a later pointer refers to.
  std::vector<json::Pointer> parents;
  for (const auto& p : ignore) {
    if (p.is_root()) throw DiffError("ignore: the empty pointer would ignore the whole document");
    Json* v = p.find(doc);
    if (v == nullptr) continue;
    *v = Json::binary({}, kDroppedSubtype);
    parents.push_back(p.parent());
  }
  // Deepest containers first: erasing inside a container only shifts the
  // indexes of its own children, which the shallower paths do not go through.
  // Each container is swept once, however many of its children are dropped.
  std::sort(parents.begin(), parents.end(), [](const auto& a, const auto& b) {
    if (a.tokens().size() != b.tokens().size()) return a.tokens().size() > b.tokens().size();
    return a.tokens() < b.tokens();
  });
  parents.erase(std::unique(parents.begin(), parents.end()), parents.end());
  for (const auto& p : parents) {
    Json* container = p.find(doc);
    if (container != nullptr) sweep(*container);
  }
  return doc;
}

}  // namespace

}  // namespace pb::diff
