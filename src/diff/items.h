// `diff: items`: a keyed array diffed element by element into "created",
// "updated" and "deleted" events.
//
// Items mode is about membership and content: an element that only changed
// place in the array emits nothing (its new index shows up in the next
// created/updated event that concerns it). Order of the output: every
// "deleted" in the old array's order, then "updated" and "created" in the new
// array's order. Data (compact JSON, in this member order):
//   created: {"key":K,"index":I,"value":V}
//   updated: {"key":K,"index":I,"value":V,"patch":P}
//   deleted: {"key":K}
// K is the element's key value exactly as the element holds it (same number
// text), I its position in the new array, V the new element, P the RFC 6902
// patch from the old element to the new one (diffed with the same key).
//
// Pure functions; callable from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "diff/differ.h"
#include "diff/json_patch.h"

namespace pb::diff {

// Throws DiffError unless `doc` is an array whose elements all have a usable,
// unique key ("element 3 has no key \"/id\"").
void check_items(const Json& doc, const KeySpec& key);

// The item events from `before` to `after`; both must pass check_items()
// (DiffError otherwise).
std::vector<Change> diff_items(const Json& before, const Json& after, const KeySpec& key);

// The same, within limits: nullopt as soon as the events' data together
// would be larger than budget.bytes (the caller then sends a snapshot).
// Spends budget.bytes (and budget.lcs_cells on the element patches).
std::optional<std::vector<Change>> diff_items(const Json& before, const Json& after,
                                              const KeySpec& key, PatchBudget& budget);

}  // namespace pb::diff
