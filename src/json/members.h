// Object members in bulk, in O(n log n) whatever the names.
//
// ordered_json keeps an object's members in a vector and finds a name by
// linear search, so building an object of n members with operator[] or
// emplace(), or looking up each member of one object in another with find(),
// is O(n^2): 15 s for an upstream object of 100,000 members. The helpers
// here append without a lookup and index names by sorting. They sort rather
// than hash on purpose: member names come from upstreams, and a hash table
// whose hash function is known (std::hash is unseeded) can be filled with
// colliding names to make every lookup a scan again.
//
// Pure; callable from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "json/document.h"

namespace pb::json {

// Objects with at most this many members are checked for duplicate names by
// comparing every pair (at most 120 comparisons), which is faster than
// sorting so few.
constexpr std::size_t kPairwiseMembers = 16;

// Appends a member without looking its name up. The caller guarantees that
// `object` is an object without a member of that name, or calls
// merge_duplicate_members() once the object is complete.
Json& append_member(Json& object, std::string name, Json value);

// Merges the members of `object` (an object) that share a name, the way
// JSON.parse treats duplicate names: the last value wins, at the position of
// the first. Nested objects are not visited. O(n log n).
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
