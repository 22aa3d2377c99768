#include "bench_documents.h"

#include <cstdio>
#include <cstring>

namespace pbl {

namespace {

constexpr std::size_t kOrders = 20;
constexpr std::size_t kItems = 400;
constexpr int kItemChangesPerEvent = 3;
const char* const kStatuses[] = {"new", "paid", "packed", "shipped", "delivered"};
constexpr std::size_t kStatusCount = sizeof kStatuses / sizeof kStatuses[0];
const char* const kProducts[] = {"mugs", "kettle", "teapot", "cups", "plates", "spoons"};
const char* const kWords[] = {"oak",   "steel", "linen",  "walnut", "copper", "stone",
                              "glass", "wool",  "cotton", "cedar",  "brass",  "slate"};

void append_u64(std::string& out, std::uint64_t v) {
  out += std::to_string(v);
}

void append_cents(std::string& out, std::uint32_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%u.%02u", cents / 100, cents % 100);
  out += buf;
}

}  // namespace

bool parse_shape(const std::string& name, Shape& out) {
  if (name == "pad") {
    out = Shape::kPad;
  } else if (name == "orders") {
    out = Shape::kOrders;
  } else if (name == "large") {
    out = Shape::kLarge;
  } else {
    return false;
  }
  return true;
}

DocumentMaker::DocumentMaker(Shape shape, std::size_t payload)
    : shape_(shape), pad_(shape == Shape::kPad ? payload : 0, 'x') {
  if (shape_ == Shape::kOrders) order_status_.assign(kOrders, 0);
  if (shape_ == Shape::kLarge) {
    items_.resize(kItems);
    for (std::size_t i = 0; i < kItems; ++i) {
      Item& it = items_[i];
      it.name = std::string(kWords[random() % 12]) + " " + kWords[random() % 12] + " " +
                kProducts[random() % 6];
      char sku[32];
      std::snprintf(sku, sizeof sku, "SKU-%05u-%c%c", random() % 100000, 'A' + random() % 26,
                    'A' + random() % 26);
      it.sku = sku;
      it.price_cents = 199 + random() % 20000;
      it.stock = random() % 500;
    }
  }
}

// xorshift64*: a fixed sequence, so every run publishes the same documents.
std::uint32_t DocumentMaker::random() {
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return static_cast<std::uint32_t>((rng_ * 0x2545f4914f6cdd1dull) >> 32);
}

void DocumentMaker::apply(std::uint64_t seq) {
  if (shape_ == Shape::kOrders) {
    const std::size_t i = static_cast<std::size_t>((seq - 1) % kOrders);
    order_status_[i] = static_cast<std::uint8_t>((order_status_[i] + 1) % kStatusCount);
  } else if (shape_ == Shape::kLarge) {
    for (int k = 0; k < kItemChangesPerEvent; ++k) {
      Item& it = items_[random() % kItems];
      if (random() % 2) {
        it.stock = random() % 500;
      } else {
        it.price_cents = 199 + random() % 20000;
      }
    }
  }
}

DocumentMaker::Change DocumentMaker::next(std::uint64_t seq, std::int64_t ts) {
  while (applied_ < seq) apply(++applied_);
  Change change;
  if (shape_ == Shape::kPad) {
    change.document.reserve(pad_.size() + 64);
    change.document += "{\"seq\":";
    append_u64(change.document, seq);
    change.document += ",\"ts\":";
    append_u64(change.document, static_cast<std::uint64_t>(ts));
    change.document += ",\"pad\":\"";
    change.document += pad_;
    change.document += "\"}";
    change.message = change.document;
    return change;
  }
  if (shape_ == Shape::kOrders) {
    change.document = orders_document(seq, ts);
    if (seq == 0) {
      change.message = change.document;
      return change;
    }
    // The patch pollbridge's json-patch diff makes of this change (same
    // operations; pollbridge's member order may differ).
    const std::size_t i = static_cast<std::size_t>((seq - 1) % kOrders);
    std::string& p = change.message;
    p = "[{\"op\":\"replace\",\"path\":\"/seq\",\"value\":";
    append_u64(p, seq);
    p += "},{\"op\":\"replace\",\"path\":\"/ts\",\"value\":";
    append_u64(p, static_cast<std::uint64_t>(ts));
    p += "},{\"op\":\"replace\",\"path\":\"/orders/";
    append_u64(p, i);
    p += "/status\",\"value\":\"";
    p += kStatuses[order_status_[i]];
    p += "\"}]";
    return change;
  }
  change.document = large_document(seq, ts);
  change.message = change.document;
  return change;
}

std::string DocumentMaker::orders_document(std::uint64_t seq, std::int64_t ts) const {
  std::string out = "{\"seq\":";
  append_u64(out, seq);
  out += ",\"ts\":";
  append_u64(out, static_cast<std::uint64_t>(ts));
  out += ",\"orders\":[";
  for (std::size_t i = 0; i < kOrders; ++i) {
    if (i) out += ',';
    out += "{\"id\":";
    append_u64(out, 1001 + i);
    out += ",\"customer\":";
    append_u64(out, 1 + (i * 7) % 9);
    out += ",\"status\":\"";
    out += kStatuses[order_status_[i]];
    out += "\",\"product\":\"";
    out += kProducts[i % 6];
    out += "\",\"quantity\":";
    append_u64(out, 1 + (i * 5) % 4);
    out += ",\"total\":";
    append_cents(out, static_cast<std::uint32_t>(1250 + (i * 3517) % 9000));
    out += ",\"currency\":\"EUR\",\"createdAt\":\"2026-11-22T01:";
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "%02zu:%02zu.%03zuZ\"}", (10 + i) % 60, (i * 13) % 60,
                  (i * 377) % 1000);
    out += stamp;
  }
  out += "]}";
  return out;
}

std::string DocumentMaker::large_document(std::uint64_t seq, std::int64_t ts) const {
  std::string out;
  out.reserve(56 * 1024);
  out += "{\"seq\":";
  append_u64(out, seq);
  out += ",\"ts\":";
  append_u64(out, static_cast<std::uint64_t>(ts));
  out += ",\"items\":[";
  for (std::size_t i = 0; i < items_.size(); ++i) {
    const Item& it = items_[i];
    if (i) out += ',';
    out += "{\"id\":";
    append_u64(out, 10000 + i);
    out += ",\"name\":\"";
    out += it.name;
    out += "\",\"sku\":\"";
    out += it.sku;
    out += "\",\"price\":";
    append_cents(out, it.price_cents);
    out += ",\"currency\":\"EUR\",\"stock\":";
    append_u64(out, it.stock);
    out += ",\"available\":";
    out += it.stock ? "true" : "false";
    out += '}';
  }
  out += "]}";
  return out;
}

bool find_patch_u64(std::string_view patch, const char* name, std::uint64_t& out) {
  const std::string key = std::string("\"path\":\"/") + name + "\"";
  const std::size_t at = patch.find(key);
  if (at == std::string_view::npos) return false;
  const std::size_t end = patch.find('}', at);
  std::size_t v = patch.find("\"value\":", at);
  if (v == std::string_view::npos || v > end) return false;
  v += 8;
  if (v >= patch.size() || patch[v] < '0' || patch[v] > '9') return false;
  std::uint64_t n = 0;
  while (v < patch.size() && patch[v] >= '0' && patch[v] <= '9') {
    n = n * 10 + static_cast<std::uint64_t>(patch[v] - '0');
    ++v;
  }
  out = n;
  return true;
}

}  // namespace pbl
