// RFC 6902 JSON Patch: computing the patch between two documents, and a strict
// applier.
//
// What json_patch() guarantees:
//  - Applying the patch to `from` with any conforming RFC 6902 implementation
//    (operations in order, each array index relative to the state left by the
//    previous operation) gives a document json::equal to `to`.
//  - Semantically equal values produce no operations: member order alone,
//    whitespace or number spelling (1.10 vs 1.1) never cause one.
//  - Emitted values are the values of `to`, so numbers keep their text.
//  - Key order of the result: members present in both documents keep the
//    order of `from`; members new in `to` are appended in `to`'s order. (A
//    patch cannot reorder members without removing and re-adding them, which
//    would break the "order alone changes nothing" rule.)
//  - Arrays whose elements are all objects with a unique scalar key (`key`)
//    are diffed by identity: inserting, deleting or moving one element is one
//    operation, whatever the array's length, and a changed element gets
//    operations inside it. Other arrays are diffed by position with a longest
//    common subsequence, bounded by kMaxLcsCells.
//
// Pure functions; callable from any thread.
#pragma once

#include <cstddef>

#include "diff/differ.h"

namespace pb::diff {

// Largest len(old middle) * len(new middle) for which an unkeyed array is
// aligned with an LCS (4 bytes of scratch memory per cell). Past it the
// elements are compared position by position, which is still correct but can
// produce a longer patch when elements are inserted or removed.
constexpr std::size_t kMaxLcsCells = 1000000;

// The operations (a JSON array) that turn `from` into `to`.
Json json_patch(const Json& from, const Json& to, const KeySpec& key);

// Applies an RFC 6902 patch: add, remove, replace, move, copy, test ("-"
// appends to an array; `test` compares with json::equal). Strict: a missing
// target, a malformed operation or a failed test throws std::runtime_error
// naming the operation and the reason, and leaves `doc` unchanged.
void apply_json_patch(Json& doc, const Json& patch);

}  // namespace pb::diff
