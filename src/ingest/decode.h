// How an upstream body becomes a document: the stream's `parse` mode (JSON,
// XML; CSV and HTML plug in here) or, for `diff: text`, the body as one
// string, each after its charset (ingest/charset.h). Bounds (size, nesting,
// time) are each parser's; a body that cannot be read is a DecodeError
// whose message names the place (byte, line and column, row), so the
// stream keeps its last good document and reports why.
//
// Charsets (docs/upstreams.md, "Character sets"): the Content-Type's
// charset is honoured in every mode and the document is valid UTF-8. With
// `diff: text` and no declared charset, invalid UTF-8 is replaced with
// U+FFFD, as before charsets were read; with a declared charset (UTF-8
// included) an invalid byte sequence is an error naming its offset.
//
// Threads: pure functions, called on the thread processing a poll.
#pragma once

#include <string>

#include "config/config.h"
#include "ingest/charset.h"
#include "ingest/decode_error.h"
#include "json/document.h"

namespace pb::ingest {

// The document of `body` (the response's `content_type`, "" if none) for
// `cfg`, before select and ignore. A SOAP Fault (parse: xml) is a
// DecodeError whose message is the fault's reason.
json::Json decode(const config::StreamConfig& cfg, const std::string& body,
                  const std::string& content_type);

// What the body of a failed response (a non-2xx status) says about the
// failure, or "" if nothing this stream can read: a SOAP Fault's reason for
// `parse: xml`.
std::string explain_error_body(const config::StreamConfig& cfg, const std::string& body,
                               const std::string& content_type);

}  // namespace pb::ingest
