#include "seq_check.h"

#include <algorithm>

namespace pbl {

bool SeqCheck::record(SeqPosition& pos, std::uint64_t seq, std::uint64_t ts, std::int64_t now_ns) {
  PhaseStats& s = current();
  ++s.events;
  if (pos.anomalous(seq)) {
    if (seq <= pos.last_seq) {
      ++s.dups;
      return false;
    }
    s.gaps += seq - pos.last_seq - 1;
    if (s.gap_ranges.size() < kMaxGapRanges) {
      s.gap_ranges.emplace_back(pos.last_seq, seq);
    } else {
      s.gap_ranges_complete = false;
    }
  }
  pos.have_seq = true;
  pos.last_seq = seq;
  if (seq >= seen_.size()) seen_.resize(std::max<std::size_t>(seq + 1, seen_.size() * 2), 0);
  seen_[seq] = 1;
  if (seq >= window_lo_ && seq <= window_hi_) {
    ++s.delivered;
    s.latency.record_us((now_ns - static_cast<std::int64_t>(ts)) / 1000);
    s.last_delivery_ns = now_ns;
  }
  return true;
}

std::uint64_t SeqCheck::unseen(std::uint64_t lo, std::uint64_t hi) const {
  std::uint64_t missing = 0;
  for (std::uint64_t s = lo; s <= hi; ++s) missing += s >= seen_.size() || !seen_[s];
  return missing;
}

std::int64_t SeqCheck::lost_by_clients(Phase phase) const {
  const PhaseStats& s = stats(phase);
  if (!s.gap_ranges_complete) return -1;
  std::int64_t lost = 0;
  for (const auto& [from, to] : s.gap_ranges) {
    for (std::uint64_t q = from + 1; q < to; ++q) lost += q < seen_.size() && seen_[q];
  }
  return lost;
}

}  // namespace pbl
