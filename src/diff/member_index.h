// Member lookup by name for the diff walks. ordered_json finds members by
// linear search, which would make diffing an object with n members O(n^2).
//
// Pure; callable from any thread.
#pragma once

#include <string_view>
#include <unordered_map>

#include "json/document.h"

namespace pb::diff {

// Name -> value of every member of `object`. The views and pointers refer to
// `object` and are valid while it is not modified.
using MemberIndex = std::unordered_map<std::string_view, const json::Json*>;

inline MemberIndex index_members(const json::Json& object) {
  MemberIndex out;
  out.reserve(object.size());
  for (auto it = object.begin(); it != object.end(); ++it) out.emplace(it.key(), &it.value());
  return out;
}

}  // namespace pb::diff
