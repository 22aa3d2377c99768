// Turns two successive upstream documents into the events that describe the
// change, for every diff mode.
//
// Pure functions: no I/O, no clock; callable from any thread.
#pragma once

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

// The data of a "snapshot" event for a document.
std::string snapshot_data(const Json& doc, config::DiffMode mode);

}  // namespace pb::diff
