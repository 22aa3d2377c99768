// RFC 7386 JSON Merge Patch: computing one, and applying one.
//
// A merge patch cannot say "set this member to null": null in a patch means
// "remove the member". So a target document that has a null member which the
// patch would have to carry (a changed or new member whose value is null, or
// a null anywhere inside an object that the patch carries whole) has no exact
// merge patch. try_merge_patch() reports that case; compute() then sends a
// "snapshot" instead of a patch that would lose the nulls. Arrays are always
// replaced whole, so nulls inside arrays are fine. Members new in the target
// are appended by the applier, in the target's order.
//
// Pure functions; callable from any thread.
#pragma once

#include <optional>

#include "diff/differ.h"

namespace pb::diff {

// The merge patch from `from` to `to`, or nullopt if none reproduces `to`
// exactly (see above). Equal documents give {} when both are objects.
std::optional<Json> try_merge_patch(const Json& from, const Json& to);

// Same, but throws DiffError when the target cannot be expressed.
Json merge_patch(const Json& from, const Json& to);

// Applies a merge patch as RFC 7386 section 2 describes.
void apply_merge_patch(Json& target, const Json& patch);

}  // namespace pb::diff
