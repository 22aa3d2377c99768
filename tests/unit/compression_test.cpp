// Compression encoded once per event (sse/content_coding.h,
// sse/deflate_blocks.h): Accept-Encoding negotiation as a table, and the
// framing checked with an independent streaming inflater (zlib's inflate,
// Z_SYNC_FLUSH): a client's header and own opening, then shared event
// pieces and heartbeats, decode to exactly the plain stream.
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "sse/content_coding.h"
#include "sse/deflate_blocks.h"
#include "sse/encoder.h"
#include "support/file_local.h"

namespace pb::sse {
namespace PB_FILE_LOCAL {

struct Case {
  const char* header;  // nullptr: no Accept-Encoding
  Coding want;
};

TEST(AcceptEncodingTest, TableOfHeadersToTheChosenCoding) {
  const std::vector<Coding> gzip_first = {Coding::kGzip, Coding::kDeflate};
  const Case cases[] = {
      {nullptr, Coding::kIdentity},  // never for a client that did not ask
      {"", Coding::kIdentity},
      {"gzip", Coding::kGzip},
      {"GZip", Coding::kGzip},
      {"x-gzip", Coding::kGzip},
      {"gzip, deflate, br", Coding::kGzip},
      {"deflate", Coding::kDeflate},
      {"br", Coding::kIdentity},
      {"identity", Coding::kIdentity},
      {"gzip;q=0", Coding::kIdentity},
      {"gzip;q=0.000", Coding::kIdentity},
      {"gzip;q=0, deflate", Coding::kDeflate},
      {"gzip;q=0.5, deflate;q=0.8", Coding::kDeflate},
      {"gzip;q=0.8, deflate;q=0.8", Coding::kGzip},  // a tie: the server's order
      {"gzip ; Q=0.5", Coding::kGzip},
      {"*", Coding::kGzip},
      {"*;q=0", Coding::kIdentity},
      {"br, *;q=0.1", Coding::kGzip},
      {"gzip;q=0, *", Coding::kDeflate},  // refused by name, whatever * says
      {"identity;q=1, gzip;q=0.5", Coding::kIdentity},
      {"identity;q=0, gzip;q=0.5", Coding::kGzip},
      {"identity;q=0", Coding::kIdentity},  // nothing acceptable: plain anyway
      {"gzip;q=2", Coding::kIdentity},      // malformed q: element ignored
      {"gzip;q=0.0001", Coding::kIdentity},
      {"gzip;q=abc, deflate", Coding::kDeflate},
      {"gzip;level=9", Coding::kGzip},  // unknown parameters ignored
      {",, gzip ,", Coding::kGzip},
      {"gzipper", Coding::kIdentity},
      {"gz ip", Coding::kIdentity},
  };
  for (const Case& c : cases) {
    std::string h = c.header ? c.header : "";
    EXPECT_EQ(coding_name(negotiate(c.header ? &h : nullptr, gzip_first)), coding_name(c.want))
        << (c.header ? c.header : "(no header)");
  }
}

TEST(AcceptEncodingTest, OnlyWhatTheServerOffers) {
  const std::string both = "gzip, deflate";
  EXPECT_EQ(negotiate(&both, {}), Coding::kIdentity);
  EXPECT_EQ(negotiate(&both, {Coding::kDeflate}), Coding::kDeflate);
  EXPECT_EQ(negotiate(&both, {Coding::kDeflate, Coding::kGzip}), Coding::kDeflate);
  const std::string gz = "gzip";
  EXPECT_EQ(negotiate(&gz, {Coding::kDeflate}), Coding::kIdentity);
}

// zlib's own inflater, fed in small slices as a client reads them.
class StreamingInflater {
 public:
  explicit StreamingInflater(Coding coding) {
    // 15 + 16: gzip only; 15: zlib only (no auto-detection: the header must be right).
    EXPECT_EQ(inflateInit2(&z_, coding == Coding::kGzip ? 15 + 16 : 15), Z_OK);
  }
  ~StreamingInflater() { inflateEnd(&z_); }

  // Everything decodable from `bytes`, given in slices of `slice` bytes.
  std::string feed(const std::string& bytes, std::size_t slice = 7) {
    std::string out;
    for (std::size_t at = 0; at < bytes.size(); at += slice) {
      std::size_t n = std::min(slice, bytes.size() - at);
      z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + at));
      z_.avail_in = static_cast<uInt>(n);
      while (z_.avail_in > 0) {
        char buf[256];
        z_.next_out = reinterpret_cast<Bytef*>(buf);
        z_.avail_out = sizeof buf;
        int r = inflate(&z_, Z_SYNC_FLUSH);
        EXPECT_TRUE(r == Z_OK || r == Z_BUF_ERROR) << r;
        out.append(buf, sizeof buf - z_.avail_out);
        if (r != Z_OK && z_.avail_out != 0) break;
      }
      // Whatever is still in the inflater's window is output too.
      for (;;) {
        char buf[256];
        z_.next_out = reinterpret_cast<Bytef*>(buf);
        z_.avail_out = sizeof buf;
        int r = inflate(&z_, Z_SYNC_FLUSH);
        out.append(buf, sizeof buf - z_.avail_out);
        if (r != Z_OK || z_.avail_out != 0) break;
      }
    }
    return out;
  }

 private:
  z_stream z_{};
};

std::string big_document(int n) {
  std::string d = "{\"items\":[";
  for (int i = 0; i < n; ++i) {
    d += (i ? "," : "") + std::string("{\"id\":") + std::to_string(i) + ",\"name\":\"item\"}";
  }
  return d + "]}";
}

TEST(DeflateBlocksTest, ClientsJoiningAtDifferentTimesDecodeTheSameSharedPieces) {
  for (Coding coding : {Coding::kGzip, Coding::kDeflate}) {
    SCOPED_TRACE(coding_name(coding));
    BlockDeflater feed;  // one per feed: every event compressed once
    std::vector<std::string> plain, pieces;
    for (int i = 0; i < 6; ++i) {
      plain.push_back(encode_event("e-" + std::to_string(i), "patch", big_document(10 + i)));
      pieces.push_back(feed.blocks(plain.back()));
      // Each event is readable at once: every piece ends with a full flush
      // (an empty stored block, byte-aligned).
      ASSERT_GE(pieces.back().size(), 4u);
      EXPECT_EQ(pieces.back().substr(pieces.back().size() - 4), std::string("\0\0\xff\xff", 4));
    }
    // The first client: its retry line and snapshot, then every event, with
    // a heartbeat between two of them.
    const std::string first_own = encode_retry(std::chrono::milliseconds(500)) +
                                  encode_event("e-0", "snapshot", big_document(50));
    StreamingInflater a(coding);
    std::string got_a = a.feed(open_stream(coding, first_own));
    std::string want_a = first_own;
    EXPECT_EQ(got_a, want_a) << "the opening is readable before any event";
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      got_a += a.feed(pieces[i], 5 + i);
      want_a += plain[i];
      EXPECT_EQ(got_a, want_a) << "event " << i << " readable as soon as its piece arrived";
      if (i == 2) {
        got_a += a.feed(compressed_heartbeat());
        want_a += std::string(kHeartbeat);
      }
    }
    EXPECT_EQ(got_a, want_a);
    // A client that joined after event 2 with another opening (a replay)
    // and the same shared pieces from event 3 on.
    const std::string second_own =
        encode_retry(std::chrono::milliseconds(500)) + plain[1] + plain[2];
    StreamingInflater b(coding);
    // Its opening as the runtime sends a replay: the header and the retry
    // line, then one independent piece per event (shareable between
    // clients), each readable on its own.
    const std::string retry = encode_retry(std::chrono::milliseconds(500));
    std::vector<std::string> opening = {open_stream(coding, retry), piece(plain[1]),
                                        piece(plain[2])};
    std::string got_b;
    for (std::size_t i = 0; i < opening.size(); ++i) got_b += b.feed(opening[i], 64);
    EXPECT_EQ(got_b, second_own);
    std::string want_b = second_own;
    for (std::size_t i = 3; i < pieces.size(); ++i) {
      got_b += b.feed(compressed_heartbeat(), 1);
      want_b += std::string(kHeartbeat);
      got_b += b.feed(pieces[i], 1);
      want_b += plain[i];
    }
    EXPECT_EQ(got_b, want_b);
  }
}

TEST(DeflateBlocksTest, EventsAreCompressedAndCounted) {
  CompressionCounters& c = compression_counters();
  const auto before = c.events.load();
  BlockDeflater feed;
  const std::string ev = encode_event("e-1", "snapshot", big_document(200));
  std::string piece = feed.blocks(ev);
  EXPECT_EQ(c.events.load(), before + 1);
  EXPECT_LT(piece.size() * 5, ev.size()) << "a repetitive document shrinks";
}

TEST(DeflateBlocksTest, AWholeBodyIsAValidGzipOrZlibStream) {
  const std::string body = big_document(100);
  for (Coding coding : {Coding::kGzip, Coding::kDeflate}) {
    std::string coded = compress_body(coding, body);
    ASSERT_FALSE(coded.empty());
    z_stream z{};
    ASSERT_EQ(inflateInit2(&z, coding == Coding::kGzip ? 15 + 16 : 15), Z_OK);
    std::string out(body.size() + 16, '\0');
    z.next_in = reinterpret_cast<Bytef*>(coded.data());
    z.avail_in = static_cast<uInt>(coded.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END) << "trailer checked";
    out.resize(out.size() - z.avail_out);
    inflateEnd(&z);
    EXPECT_EQ(out, body);
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::sse
