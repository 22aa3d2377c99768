// Turns two successive upstream documents into the events that describe the
// change, for every diff mode.
//
// Pure functions: no I/O, no clock; callable from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.h"
#include "json/document.h"
#include "json/pointer.h"

namespace pb::diff {

using json::Json;

// A document that the configured diff mode cannot handle (items mode on a
// non-array, elements without a usable key, duplicate keys, a missing
// `select`). The message says what is wrong; the caller reports it and keeps
// the previous document.
class DiffError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How array elements are identified (`key:` in the config): a member name
// ("id") or an RFC 6901 pointer into the element ("/meta/id").
struct KeySpec {
  json::Pointer pointer;  // root pointer = no key

  static KeySpec parse(const std::string& text);  // throws std::invalid_argument
  bool empty() const { return pointer.is_root(); }
  // The element's identity, or nullopt if it has no usable key (missing, or
  // not a scalar).
  std::optional<std::string> of(const Json& element) const;
};

struct Options {
  config::DiffMode mode = config::DiffMode::kJsonPatch;
  KeySpec key;
};

// One event to publish: its SSE event type and its data, already serialized
// (a JSON document, or the raw body in text mode).
struct Change {
  std::string type;
  std::string data;
};

// The changes that turn `prev` into `next`; `prev` == nullptr means there was
// no previous document, which yields one "snapshot". Semantically equal
// documents (member order, whitespace, number spelling) yield nothing.
// In text mode the documents are JSON strings holding the body.
// Throws DiffError when `next` does not suit the mode (see DiffError); in
// items mode the first document is checked too.
std::vector<Change> compute(const Json* prev, const Json& next, const Options& options);

// Items mode: how large a change's created/updated/deleted events may be,
// their data together, before the change is sent as one snapshot instead
// (docs/protocol.md, "Event size"). Item events carry meaning a snapshot
// does not, so they are kept well past the document's size: the bound only
// stops pathological changes (thousands of small elements all replaced),
// whose events cost several times the document in memory and bandwidth.
// The multiple keeps under the bound a change that rewrites every element
// of a list of ordinary elements (an updated event holds the element and
// its patch, about twice the element; a replaced element costs a deleted
// and a created event, the element plus about 40 bytes of framing); the
// allowance lets a short list (2 elements, a few dozen bytes) gain or lose
// elements of a few KiB. Tiny elements all replaced at once (`{"id":1}`,
// 9 bytes, becomes about 50 bytes of events) exceed it.
constexpr std::size_t kItemsEventDocumentMultiple = 4;
constexpr std::size_t kItemsEventAllowance = 4096;  // bytes
// kItemsEventDocumentMultiple x `snapshot_bytes` + kItemsEventAllowance
// (saturating).
std::size_t items_event_budget(std::size_t snapshot_bytes);

// The data of a "snapshot" event for a document.
std::string snapshot_data(const Json& doc, config::DiffMode mode);

}  // namespace pb::diff
