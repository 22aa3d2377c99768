// Sequence algorithms behind the array diffs: longest increasing subsequence
// (which keyed elements can stay where they are) and longest common
// subsequence (which unkeyed elements survive).
//
// Pure functions; callable from any thread.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace pb::diff {

// Positions (ascending) into `seq` of one longest strictly increasing
// subsequence. O(n log n).
std::vector<std::size_t> longest_increasing_subsequence(const std::vector<std::size_t>& seq);

// Pairs (i, j), ascending in both, with a[i] == b[j], forming one longest
// common subsequence. O(a.size() * b.size()) time and memory: the caller
// bounds the product.
std::vector<std::pair<std::size_t, std::size_t>> longest_common_subsequence(
    const std::vector<std::size_t>& a, const std::vector<std::size_t>& b);

}  // namespace pb::diff
