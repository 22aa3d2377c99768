// The target of an RFC 8288 `Link` header's rel="next" link, for paged
// lists (pages: { next: link }).
//
// Hand-written: no Debian package parses Link headers for C/C++ (libcurl
// does not, nor does any HTTP library the project uses); the grammar is
// small: `<URI-reference>` followed by `;` parameters, link-values separated
// by commas, parameter values as tokens or quoted strings.
//
// Threads: pure functions, any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pb::upstream {

// The URI reference of the first link, across every `values` (the headers'
// values in order), whose rel parameter holds the relation type "next"
// (case-insensitive, among others: rel="prev next"). nullopt if none.
// Malformed link-values are skipped.
std::optional<std::string> next_link(const std::vector<std::string>& values);

}  // namespace pb::upstream
