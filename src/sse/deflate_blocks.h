// Compression of an event stream encoded once per event (docs/architecture.md,
// "Compression").
//
// A compressed SSE response is one gzip (RFC 1952) or zlib (RFC 1950, HTTP's
// `deflate`) stream whose deflate data (RFC 1951) is made of independent
// pieces, each a run of non-final blocks ended by a full flush
// (Z_FULL_FLUSH: byte-aligned, the compressor's history reset):
//
//   header(coding) · open(preamble) · blocks(event 1) · blocks(event 2) · …
//
// Because a piece refers to nothing before it, the pieces of a feed's events
// are made once (one BlockDeflater per feed) and the same bytes go to every
// compressed client of the feed, gzip and deflate alike (the two differ only
// in their header and trailer); each client's own part (header, retry line,
// snapshot or replay) is compressed for it alone. A heartbeat is one more
// constant piece. No trailer is sent: a stream ends as an uncompressed one
// does, by the connection closing (docs/protocol.md "Compression").
//
// Threads: a BlockDeflater belongs to whoever serializes its calls (a feed's
// publisher, under the stream's or channel's lock); the free functions and
// counters may be used from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sse/content_coding.h"

namespace pb::sse {

// The process's compression work, for /metrics (docs/operations.md).
struct CompressionCounters {
  std::atomic<std::uint64_t> events{0};                   // shared event pieces made
  std::atomic<std::uint64_t> event_plain{0};              // their bytes before
  std::atomic<std::uint64_t> event_coded{0};              // and after
  std::atomic<std::uint64_t> preambles{0};                // per-client openings made
  std::atomic<std::uint64_t> responses{0};                // HTTP responses compressed
  std::atomic<std::uint64_t> response_plain{0};           // their bytes before
  std::atomic<std::uint64_t> response_coded{0};           // and after
  std::atomic<std::int64_t> sessions[kCodingCount] = {};  // compressed SSE sessions now
};
CompressionCounters& compression_counters();

// One feed's compressor: raw deflate, kept between events (its buffers are
// allocated on first use, about 256 KiB), each piece ended by a full flush.
class BlockDeflater {
 public:
  BlockDeflater();
  ~BlockDeflater();
  BlockDeflater(const BlockDeflater&) = delete;
  BlockDeflater& operator=(const BlockDeflater&) = delete;

  // The piece for `plain`: decodable after any earlier piece of any stream
  // of this framing. Counted in compression_counters().events.
  std::string blocks(std::string_view plain);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The header a client of `coding` (gzip or deflate) gets first: gzip's 10
// bytes or zlib's 2.
std::string coding_header(Coding coding);
// What a client gets before the shared pieces: the header, then its own
// `plain` (response preamble: retry, snapshot or replay) as one piece.
std::string open_stream(Coding coding, std::string_view plain);
// One piece of `plain` made by a compressor of its own: independent of any
// other piece, so that it can be shared by clients (a snapshot).
std::string piece(std::string_view plain);
// The piece of one heartbeat comment (":\n\n"), made once.
const std::string& compressed_heartbeat();
// A whole gzip or zlib body (header, data, trailer) for a one-shot HTTP
// response; empty if zlib fails.
std::string compress_body(Coding coding, std::string_view plain);

}  // namespace pb::sse
