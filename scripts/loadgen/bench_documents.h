// The documents the benchmark publishes, one shape per run (pb-loadgen
// --shape):
//
//  * pad: {"seq":n,"ts":<ns>,"pad":"xxx…"} with --payload bytes of padding
//    (the fan-out runs; the padding compresses to almost nothing, so the
//    compression runs use the two shapes below).
//  * orders: like the example backend's /api/orders (examples/legacy_backend):
//    {"seq","ts","orders":[20 orders]}; each change moves one order's status
//    on. pollbridge polls it as a `diff: json-patch` stream, so its events
//    are small patches; nchan is published the same patch text.
//  * large: a ~50 KB catalogue, {"seq","ts","items":[400 items]}, with names,
//    SKUs, prices and stock drawn from a fixed pseudo-random sequence (so
//    gzip meets text about as redundant as real JSON, not padding); each
//    change alters the stock or price of three items. pollbridge polls it as
//    a `diff: snapshot` stream (every event is the whole document), and
//    nchan is published the whole document.
//
// Every event therefore carries "seq" and "ts" (in a patch, as the values of
// the "/seq" and "/ts" replace operations), which is what the load client
// checks.
//
// Threads: a DocumentMaker is used by one thread at a time (the publisher's
// caller); the strings it returns are plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pbl {

enum class Shape { kPad, kOrders, kLarge };

// "pad", "orders", "large"; false for anything else.
bool parse_shape(const std::string& name, Shape& out);

class DocumentMaker {
 public:
  DocumentMaker(Shape shape, std::size_t payload);

  struct Change {
    std::string document;  // what the legacy backend serves from now on
    std::string message;   // what nchan is published: the document, or its patch
  };
  // The state after change `seq` (seq 0: the initial document). Changes are
  // applied in order: call with 0, 1, 2, … (seqs may be skipped: a skipped
  // change is applied silently).
  Change next(std::uint64_t seq, std::int64_t ts);

 private:
  struct Item {
    std::string name;
    std::string sku;
    std::uint32_t price_cents = 0;
    std::uint32_t stock = 0;
  };
  std::uint32_t random();
  void apply(std::uint64_t seq);
  std::string orders_document(std::uint64_t seq, std::int64_t ts) const;
  std::string large_document(std::uint64_t seq, std::int64_t ts) const;

  Shape shape_;
  std::string pad_;
  std::uint64_t applied_ = 0;
  std::uint64_t rng_ = 0x9e3779b97f4a7c15ull;
  std::vector<std::uint8_t> order_status_;  // orders: index into the statuses
  std::vector<Item> items_;                 // large
  std::string last_patch_;                  // orders: the latest change as a JSON patch
};

// The number after `"path":"/<name>"` … `"value":` in a JSON patch (the
// orders shape's events); false if there is none.
bool find_patch_u64(std::string_view patch, const char* name, std::uint64_t& out);

}  // namespace pbl
