// Object members in bulk, in O(n log n) whatever the names.
//
// ordered_json keeps an object's members in a vector and finds a name by
// linear search, so building an object of n members with operator[] or
// emplace(), or looking up each member of one object in another with find(),
// is O(n^2): 15 s for an upstream object of 100,000 members. The helpers
// here build objects without a lookup, find duplicate names by hashing with
// a probe budget (then by sorting) and index names by sorting. Member names
// come from upstreams, and a hash table whose hash function is known
// (std::hash is unseeded) can be filled with colliding names to make every
// lookup a scan again: no table here may probe without a bound.
//
// Pure; callable from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "json/document.h"

namespace pb::json {

// Objects with at most this many members are checked for duplicate names by
// comparing every pair (at most 120 comparisons), which is faster than
// sorting so few.
constexpr std::size_t kPairwiseMembers = 16;

// (name, value) pairs whose names can still be moved. ordered_map's names are
// const, so an object that grows copies every name and deep-copies every
// value each time its vector reallocates; a list built here and moved in
// once does not.
using MemberList = std::vector<std::pair<std::string, Json>>;

// Makes `object` an object of exactly `members` (moved out; the list is left
// empty with its capacity, for reuse), in their order and without a lookup:
// the caller guarantees the names are unique, or calls
// merge_duplicate_members() afterwards.
void assign_members(Json& object, MemberList& members);

// Merges the members of `object` (an object) that share a name, the way
// JSON.parse treats duplicate names: the last value wins, at the position of
// the first. Nested objects are not visited. O(n) for names that hash well,
// O(n log n) for any names.
void merge_duplicate_members(Json& object);

// Name -> value of every member in [first, last) of one object (names unique,
// as in any complete document). The views and pointers refer to the object
// and stay valid while it is not modified. Built in O(n log n); find() is
// O(log n).
class MemberIndex {
 public:
  explicit MemberIndex(const Json& object);
  MemberIndex(Json::const_iterator first, Json::const_iterator last);

  // The value of member `name`, or nullptr.
  const Json* find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }

 private:
  struct Entry {
    std::string_view name;
    const Json* value;
  };
  std::vector<Entry> entries_;  // sorted by name
};

}  // namespace pb::json
