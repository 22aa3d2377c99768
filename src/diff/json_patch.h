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
//    common subsequence, bounded by kMaxLcsCells per array and
//    kMaxLcsCellsPerDiff per diff; past those the array is replaced whole.
//
// Pure functions; callable from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "diff/differ.h"

namespace pb::diff {

// Largest len(old middle) * len(new middle) for which an unkeyed array is
// aligned with an LCS (4 bytes of scratch memory per cell, so at most 4 MiB
// at a time). Past it the whole array is replaced: still correct, and cheap.
// An LCS of 1000 x 1000 cells takes about 4.5 ms on the reference machine
// (docs/polling.md, "Diff bounds").
constexpr std::size_t kMaxLcsCells = 1000000;
// LCS cells one diff may spend over all its arrays together (about 36 ms):
// past it, further unkeyed arrays that differ are replaced whole. Without
// it, a document of many mid-sized arrays that all change (650 rows of 650
// numbers, each row reversed) costs one LCS per row: 275 M cells, over a
// second.
constexpr std::size_t kMaxLcsCellsPerDiff = 8000000;

// What one diff may spend. `bytes`: most bytes of patch text; once past it,
// the builder stops and reports that it gave up (the caller then sends a
// snapshot). `lcs_cells`: cells left for LCS alignment (see above), shared
// by every array the diff meets.
struct PatchBudget {
  std::size_t bytes = static_cast<std::size_t>(-1);
  std::size_t lcs_cells = kMaxLcsCellsPerDiff;
};

// The operations (a JSON array) that turn `from` into `to`, unbounded in
// size (tests and tools).
Json json_patch(const Json& from, const Json& to, const KeySpec& key);

// The same patch as compact JSON text, built directly (no intermediate
// document, so memory stays near the text's size), or nullopt as soon as
// the text would exceed budget.bytes. Spends budget.lcs_cells.
std::optional<std::string> json_patch_text(const Json& from, const Json& to, const KeySpec& key,
                                           PatchBudget& budget);

// Applies an RFC 6902 patch: add, remove, replace, move, copy, test ("-"
// appends to an array; `test` compares with json::equal). Strict: a missing
// target, a malformed operation or a failed test throws std::runtime_error
// naming the operation and the reason, and leaves `doc` unchanged.
void apply_json_patch(Json& doc, const Json& patch);

}  // namespace pb::diff
