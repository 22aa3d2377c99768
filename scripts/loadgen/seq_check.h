// What both load-client pools check of every delivered document: its "seq"
// against the same connection's previous one (gaps, duplicates), which seqs
// some client received at all, and, inside the measured window of seqs, the
// delivery latency from its "ts". Counted per phase of the run.
//
// Single-threaded: the pool's thread.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "histogram.h"

namespace pbl {

enum class Phase : int { kSetup = 0, kSteady = 1, kStorm = 2 };
constexpr int kPhases = 3;

struct PhaseStats {
  std::uint64_t events = 0;       // events with a parsable document
  std::uint64_t delivered = 0;    // events whose seq is in the measured window
  std::uint64_t gaps = 0;         // seqs skipped by a connection
  std::uint64_t dups = 0;         // seqs a connection got again (or out of order)
  std::uint64_t bad_events = 0;   // events without "seq"/"ts"
  std::uint64_t disconnects = 0;  // streams that ended without us closing them
  std::uint64_t connect_errors = 0;
  std::int64_t last_delivery_ns = 0;  // CLOCK_REALTIME of the last windowed event
  std::uint64_t wire_bytes = 0;       // read from the sockets (TLS: decrypted)
  std::uint64_t inflated_bytes = 0;   // body bytes after inflating (sampled connections)
  std::uint64_t inflated_wire = 0;    // the compressed body bytes those came from
  Histogram latency;                  // windowed events only
  // Every jump a connection made: seqs first+1 .. next-1 were skipped. Kept
  // (up to kMaxGapRanges) to tell losses from changes nobody was sent.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> gap_ranges;
  bool gap_ranges_complete = true;
};

constexpr std::size_t kMaxGapRanges = 4u << 20;

// One connection's position in the sequence.
struct SeqPosition {
  std::uint64_t last_seq = 0;
  bool have_seq = false;
  // Whether `seq` does not follow on (a gap or a duplicate).
  bool anomalous(std::uint64_t seq) const { return have_seq && seq != last_seq + 1; }
};

class SeqCheck {
 public:
  void set_phase(Phase phase) { phase_ = phase; }
  Phase phase() const { return phase_; }
  // Events with lo <= seq <= hi count as deliveries (latency recorded).
  void set_window(std::uint64_t lo, std::uint64_t hi) {
    window_lo_ = lo;
    window_hi_ = hi;
  }
  PhaseStats& current() { return stats_[static_cast<int>(phase_)]; }
  const PhaseStats& stats(Phase phase) const { return stats_[static_cast<int>(phase)]; }

  // A document with `seq` and `ts` (CLOCK_REALTIME ns) arrived on the
  // connection at `pos` at `now_ns`. Returns false for a duplicate, which
  // counts as nothing else.
  bool record(SeqPosition& pos, std::uint64_t seq, std::uint64_t ts, std::int64_t now_ns);

  // Seqs in [lo, hi] that no client received.
  std::uint64_t unseen(std::uint64_t lo, std::uint64_t hi) const;
  // The phase's skipped seqs that some client did receive: deliveries the
  // server lost, as opposed to changes it never sent anyone. -1 if too many
  // gaps were recorded to tell.
  std::int64_t lost_by_clients(Phase phase) const;

 private:
  Phase phase_ = Phase::kSetup;
  std::uint64_t window_lo_ = UINT64_MAX;
  std::uint64_t window_hi_ = 0;
  PhaseStats stats_[kPhases];
  std::vector<std::uint8_t> seen_;  // by seq: some client got it
};

}  // namespace pbl
