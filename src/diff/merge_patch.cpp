#include "diff/merge_patch.h"

#include <string>

#include "json/members.h"

namespace pb::diff {
namespace {

// True if applying `value` as a merge patch would drop a null: `value` is an
// object with a null member at some depth reached through objects only.
bool has_null_member(const Json& value, std::size_t depth) {
  if (!value.is_object()) return false;
  if (depth >= json::kMaxDepth) return true;  // cannot tell; refuse rather than lose data
  for (const auto& member : value) {
    if (member.is_null() || has_null_member(member, depth + 1)) return true;
  }
  return false;
}

std::optional<Json> diff(const Json& from, const Json& to, std::size_t depth) {
  // Anything but object -> object is expressed by the target itself, which an
  // applier merges into an empty object (for an object target).
  if (!from.is_object() || !to.is_object() || depth >= json::kMaxDepth) {
    if (has_null_member(to, depth)) return std::nullopt;
    return to;
  }
  const json::MemberIndex in_from(from);
  const json::MemberIndex in_to(to);
  const Json absent;  // stands for a member `from` does not have
  // Members are collected without a lookup: the names of `to` are unique,
  // and the removed ones are names `to` does not have.
  json::MemberList patch;
  for (auto it = to.begin(); it != to.end(); ++it) {
    const Json* old = in_from.find(it.key());
    if (old != nullptr && json::equal(*old, it.value())) continue;
    if (it.value().is_null()) return std::nullopt;  // null would mean "remove"
    auto sub = diff(old != nullptr ? *old : absent, it.value(), depth + 1);
    if (!sub) return std::nullopt;
    patch.emplace_back(it.key(), std::move(*sub));
  }
  for (auto it = from.begin(); it != from.end(); ++it) {
    if (!in_to.contains(it.key())) patch.emplace_back(it.key(), nullptr);
  }
  Json out;
  json::assign_members(out, patch);
  return out;
}

}  // namespace

std::optional<Json> try_merge_patch(const Json& from, const Json& to) {
  return diff(from, to, 0);
}

Json merge_patch(const Json& from, const Json& to) {
  auto patch = try_merge_patch(from, to);
  if (!patch) throw DiffError("a merge patch cannot express a null member of the new document");
  return std::move(*patch);
}

void apply_merge_patch(Json& target, const Json& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = Json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.value().is_null()) {
      target.erase(it.key());
    } else {
      apply_merge_patch(target[it.key()], it.value());
    }
  }
}

}  // namespace pb::diff
