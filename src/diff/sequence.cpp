#include "diff/sequence.h"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace pb::diff {

std::vector<std::size_t> longest_increasing_subsequence(const std::vector<std::size_t>& seq) {
  constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  // tails[k]: position of the smallest value that ends an increasing
  // subsequence of length k + 1; prev[i]: the element before i in the best
  // subsequence ending at i.
  std::vector<std::size_t> tails;
  std::vector<std::size_t> prev(seq.size(), kNone);
  for (std::size_t i = 0; i < seq.size(); ++i) {
    auto it = std::lower_bound(tails.begin(), tails.end(), seq[i],
                               [&](std::size_t pos, std::size_t v) { return seq[pos] < v; });
    if (it != tails.begin()) prev[i] = *(it - 1);
    if (it == tails.end()) {
      tails.push_back(i);
    } else {
      *it = i;
    }
  }
  std::vector<std::size_t> out(tails.size());
  std::size_t pos = tails.empty() ? kNone : tails.back();
  for (std::size_t k = tails.size(); k-- > 0;) {
    out[k] = pos;
    pos = prev[pos];
  }
  return out;
}

std::vector<std::pair<std::size_t, std::size_t>> longest_common_subsequence(
    const std::vector<std::size_t>& a, const std::vector<std::size_t>& b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  const std::size_t width = m + 1;
  // len[i * width + j]: LCS length of the suffixes a[i..] and b[j..], so the
  // walk below can emit pairs front to back.
  std::vector<std::uint32_t> len((n + 1) * width, 0);
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      len[i * width + j] = a[i] == b[j]
                               ? len[(i + 1) * width + j + 1] + 1
                               : std::max(len[(i + 1) * width + j], len[i * width + j + 1]);
    }
  }
  std::vector<std::pair<std::size_t, std::size_t>> out;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < n && j < m) {
    if (a[i] == b[j]) {
      out.emplace_back(i++, j++);
    } else if (len[(i + 1) * width + j] >= len[i * width + j + 1]) {
      ++i;
    } else {
      ++j;
    }
  }
  return out;
}

}  // namespace pb::diff
