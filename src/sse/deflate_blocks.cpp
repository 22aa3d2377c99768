#include "sse/deflate_blocks.h"

#include <zlib.h>

#include <stdexcept>

namespace pb::sse {
namespace {

// Level 6 (zlib's default): the pieces are made once per event, whatever
// the number of clients, so a better ratio is worth its CPU.
constexpr int kLevel = 6;

void deflate_all(z_stream& z, std::string_view plain, int flush, std::string& out) {
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  z.avail_in = static_cast<uInt>(plain.size());
  std::size_t room = deflateBound(&z, static_cast<uLong>(plain.size())) + 16;
  for (;;) {
    out.resize(out.size() + room);
    z.next_out = reinterpret_cast<Bytef*>(&out[out.size() - room]);
    z.avail_out = static_cast<uInt>(room);
    int r = deflate(&z, flush);
    out.resize(out.size() - z.avail_out);
    if (r == Z_STREAM_ERROR) throw std::runtime_error("deflate failed");
    // Done when the input is consumed and the flush fit (avail_out left).
    if (z.avail_in == 0 && z.avail_out != 0) break;
    if (r == Z_STREAM_END) break;
    room = 4096;
  }
}

}  // namespace

CompressionCounters& compression_counters() {
  static CompressionCounters counters;
  return counters;
}

struct BlockDeflater::State {
  z_stream z{};
  State() {
    if (deflateInit2(&z, kLevel, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("deflateInit2 failed");
    }
  }
  ~State() { deflateEnd(&z); }
};

BlockDeflater::BlockDeflater() = default;
BlockDeflater::~BlockDeflater() = default;

std::string BlockDeflater::blocks(std::string_view plain) {
  if (!state_) state_ = std::make_unique<State>();
  std::string out;
  deflate_all(state_->z, plain, Z_FULL_FLUSH, out);
  CompressionCounters& c = compression_counters();
  c.events.fetch_add(1, std::memory_order_relaxed);
  c.event_plain.fetch_add(plain.size(), std::memory_order_relaxed);
  c.event_coded.fetch_add(out.size(), std::memory_order_relaxed);
  return out;
}

std::string coding_header(Coding coding) {
  if (coding == Coding::kGzip) {
    // ID1 ID2 CM=8 FLG=0 MTIME=0 XFL=0 OS=255 (unknown).
    return std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  }
  if (coding == Coding::kDeflate) {
    // CMF: deflate, 32 KiB window; FLG: default level, check bits.
    return std::string("\x78\x9c", 2);
  }
  return std::string();
}

std::string open_stream(Coding coding, std::string_view plain) {
  return coding_header(coding) + piece(plain);
}

std::string piece(std::string_view plain) {
  z_stream z{};
  if (deflateInit2(&z, kLevel, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out;
  try {
    deflate_all(z, plain, Z_FULL_FLUSH, out);
  } catch (...) {
    deflateEnd(&z);
    throw;
  }
  deflateEnd(&z);
  return out;
}

const std::string& compressed_heartbeat() {
  static const std::string kPiece = piece(":\n\n");
  return kPiece;
}

std::string compress_body(Coding coding, std::string_view plain) {
  if (coding == Coding::kIdentity) return std::string();
  z_stream z{};
  // 15 + 16: a gzip wrapper; 15: zlib.
  const int bits = coding == Coding::kGzip ? 15 + 16 : 15;
  if (deflateInit2(&z, kLevel, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out;
  try {
    deflate_all(z, plain, Z_FINISH, out);
  } catch (...) {
    out.clear();
  }
  deflateEnd(&z);
  return out;
}

}  // namespace pb::sse
