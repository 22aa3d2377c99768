// The error of a body that cannot become a document: its message names the
// place (byte offset, line and column, row) and is the stream's `status`
// reason. Every decoder of ingest/ throws it.
//
// Threads: a value type; any thread.
#pragma once

#include <stdexcept>

namespace pb::ingest {

class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace pb::ingest
