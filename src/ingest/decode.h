// How an upstream body becomes a document: the stream's `parse` mode (JSON
// today; XML, CSV and HTML plug in here) or, for `diff: text`, the body as
// one string. Bounds (size, nesting, time) are each parser's; a body that
// cannot be read is a DecodeError whose message names the place (byte,
// line and column, row), so the stream keeps its last good document and
// reports why.
//
// Threads: pure functions, called on the thread processing a poll.
#pragma once

#include <stdexcept>
#include <string>

#include "config/config.h"
#include "json/document.h"

namespace pb::ingest {

class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The document of `body` (the response's `content_type`, "" if none) for
// `cfg`, before select and ignore.
json::Json decode(const config::StreamConfig& cfg, const std::string& body,
                  const std::string& content_type);

// Replaces invalid UTF-8 sequences with U+FFFD (as a browser decoding the
// event stream would), so text documents are always valid JSON strings.
std::string sanitize_utf8(const std::string& in);

}  // namespace pb::ingest
