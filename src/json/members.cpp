#include "json/members.h"

#include <algorithm>
#include <utility>

namespace pb::json {
namespace {

// An object's members as the std::vector that ordered_map is: its own
// operator[] and emplace() look names up, the vector's do not.
using Members = Json::object_t::Container;

Members& members_of(Json& object) {
  return object.get_ref<Json::object_t&>();
}

// A member's name and position, for sorting positions by name.
struct Named {
  std::string_view name;
  std::size_t pos;
  bool operator<(const Named& o) const { return name < o.name || (name == o.name && pos < o.pos); }
};

// first[i]: the position of the first member named like member i (i itself
// for a first occurrence). Empty if no name occurs twice.
std::vector<std::size_t> first_occurrences(const Members& members) {
  const std::size_t n = members.size();
  std::vector<std::size_t> first;
  auto mark = [&](std::size_t later, std::size_t earlier) {
    if (first.empty()) {
      first.resize(n);
      for (std::size_t i = 0; i < n; ++i) first[i] = i;
    }
    first[later] = first[earlier];
  };
  if (n <= kPairwiseMembers) {
    for (std::size_t i = 1; i < n; ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (members[i].first == members[j].first) {
          mark(i, j);
          break;
        }
      }
    }
    return first;
  }
  std::vector<Named> sorted;
  sorted.reserve(n);
  for (std::size_t i = 0; i < n; ++i) sorted.push_back({members[i].first, i});
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t k = 1; k < n; ++k) {
    // Equal names are adjacent, in position order: the run's first is first.
    if (sorted[k].name == sorted[k - 1].name) mark(sorted[k].pos, sorted[k - 1].pos);
  }
  return first;
}

}  // namespace

Json& append_member(Json& object, std::string name, Json value) {
  // ordered_map is a std::vector of pairs; its own emplace() searches first.
  Members& members = members_of(object);
  members.emplace_back(std::move(name), std::move(value));
  return members.back().second;
}

void merge_duplicate_members(Json& object) {
  Members& members = members_of(object);
  const std::vector<std::size_t> first = first_occurrences(members);
  if (first.empty()) return;
  // In position order, so that the last value is the one that stays.
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (first[i] != i) members[first[i]].second = std::move(members[i].second);
  }
  // Names are const in the pairs, so the survivors are rebuilt, not shifted.
  Members merged;
  merged.reserve(members.size());
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (first[i] == i) {
      merged.emplace_back(members[i].first, std::move(members[i].second));
    }
  }
  members.swap(merged);
}

MemberIndex::MemberIndex(const Json& object) : MemberIndex(object.begin(), object.end()) {}

MemberIndex::MemberIndex(Json::const_iterator first, Json::const_iterator last) {
  for (auto it = first; it != last; ++it) entries_.push_back({it.key(), &it.value()});
  std::sort(entries_.begin(), entries_.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
}

const Json* MemberIndex::find(std::string_view name) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const Entry& e, std::string_view n) { return e.name < n; });
  return it != entries_.end() && it->name == name ? it->value : nullptr;
}

}  // namespace pb::json
