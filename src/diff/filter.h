// The part of an upstream document that is diffed: `select` picks a
// sub-document, `ignore` drops values from it (volatile fields such as
// timestamps that would otherwise cause an event on every poll).
//
// Pointers are strict RFC 6901: there is no wildcard ("every element of this
// array"); an ignore pointer names one value. Ignore pointers are relative to
// the selected document (with select: /data, ignore: /ts drops /data/ts of the
// upstream body), and they all refer to the selected document as it was
// before anything was dropped: ignoring /list/0 and /list/1 drops the first
// two elements. A pointer that matches nothing is not an error (the field may
// come and go).
//
// Pure functions; callable from any thread.
#pragma once

#include <vector>

#include "diff/differ.h"

namespace pb::diff {

// Throws DiffError if `select` matches nothing ("select /x: no such value"),
// or if an ignore pointer is the root (that would ignore everything).
Json prepare(const Json& body, const json::Pointer& select,
             const std::vector<json::Pointer>& ignore);
// The same, taking the selected part out of `body` instead of copying it
// (the ingest stage drops the body afterwards).
Json prepare(Json&& body, const json::Pointer& select, const std::vector<json::Pointer>& ignore);

}  // namespace pb::diff
