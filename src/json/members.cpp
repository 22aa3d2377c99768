#include "json/members.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <utility>

namespace pb::json {
namespace {

// An object's members as the std::vector that ordered_map is: its own
// operator[] and emplace() look names up, the vector's do not.
using Members = Json::object_t::Container;

Members& members_of(Json& object) {
  return object.get_ref<Json::object_t&>();
}

// Linear probing over a table of at least this many slots per member (a
// load factor of at most 1/2).
constexpr std::size_t kSlotsPerMember = 2;
// Probes past the first that duplicate detection by hashing may spend, per
// member, before it gives up and sorts instead. Ordinary names need about
// one in total at load 1/2; names made to collide under std::hash (public
// and unseeded) exhaust it, so hashing costs at most O(n) before the
// O(n log n) sort.
constexpr std::size_t kProbesPerMember = 8;

// first[i]: the position of the first member named like member i (i itself
// for a first occurrence); empty until some name occurs twice.
class Occurrences {
 public:
  explicit Occurrences(std::size_t n) : n_(n) {}
  void mark(std::size_t later, std::size_t earlier) {
    if (first_.empty()) {
      first_.resize(n_);
      for (std::size_t i = 0; i < n_; ++i) first_[i] = i;
    }
    first_[later] = first_[earlier];
  }
  std::vector<std::size_t> take() { return std::move(first_); }

 private:
  std::size_t n_;
  std::vector<std::size_t> first_;
};

void by_pairs(const Members& members, Occurrences& out) {
  for (std::size_t i = 1; i < members.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (members[i].first == members[j].first) {
        out.mark(i, j);
        break;
      }
    }
  }
}

// False (and `out` unusable) if the probe budget ran out.
bool by_hashing(const Members& members, Occurrences& out) {
  const std::size_t n = members.size();
  if (n >= std::numeric_limits<std::uint32_t>::max()) return false;
  std::size_t size = 1;
  while (size < kSlotsPerMember * n) size <<= 1;
  const std::size_t mask = size - 1;
  std::vector<std::uint32_t> slots(size, 0);  // member position + 1; 0: empty
  std::size_t budget = kProbesPerMember * n;
  const std::hash<std::string_view> hash;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& name = members[i].first;
    for (std::size_t h = hash(name) & mask;; h = (h + 1) & mask) {
      const std::uint32_t slot = slots[h];
      if (slot == 0) {
        slots[h] = static_cast<std::uint32_t>(i + 1);
        break;
      }
      if (members[slot - 1].first == name) {
        out.mark(i, slot - 1);  // slots hold first occurrences only
        break;
      }
      if (budget-- == 0) return false;
    }
  }
  return true;
}

// A member's name and position, for sorting positions by name.
struct Named {
  std::string_view name;
  std::size_t pos;
  bool operator<(const Named& o) const { return name < o.name || (name == o.name && pos < o.pos); }
};

void by_sorting(const Members& members, Occurrences& out) {
  std::vector<Named> sorted;
  sorted.reserve(members.size());
  for (std::size_t i = 0; i < members.size(); ++i) sorted.push_back({members[i].first, i});
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t k = 1; k < sorted.size(); ++k) {
    // Equal names are adjacent, in position order: the run's first is first.
    if (sorted[k].name == sorted[k - 1].name) out.mark(sorted[k].pos, sorted[k - 1].pos);
  }
}

std::vector<std::size_t> first_occurrences(const Members& members) {
  Occurrences out(members.size());
  if (members.size() <= kPairwiseMembers) {
    by_pairs(members, out);
  } else if (!by_hashing(members, out)) {
    out = Occurrences(members.size());
    by_sorting(members, out);
  }
  return out.take();
}

}  // namespace

void assign_members(Json& object, MemberList& members) {
  object = Json::object();
  Members& out = members_of(object);
  out.reserve(members.size());
  for (auto& [name, value] : members) out.emplace_back(std::move(name), std::move(value));
  members.clear();
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
