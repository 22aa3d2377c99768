// Which representation an SSE request asks for: `?format=` or, failing
// that, the `Accept` header (docs/protocol.md "Formats"). Pure; callable
// from any thread (the HTTP workers).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stream/format.h"

namespace pb::server {

struct FormatChoice {
  stream::Format format = stream::Format::kNative;
  // Named by ?format= (a demand: a stream that cannot send it is a 400)
  // rather than by Accept (a preference: such a stream sends its own).
  bool demanded = false;
};

// The format an Accept header prefers among the media types of the three
// formats (application/json-patch+json, application/merge-patch+json,
// application/json): the one with the highest q (the first listed of
// equals; q=0 excludes), or kNative when none is listed.
stream::Format format_from_accept(std::string_view accept);

// `query` holds the values of every `format` parameter, `accept` the
// Accept header if there is one. Returns false with `error` set (a 400)
// for an unknown or repeated-and-different ?format=.
bool choose_format(const std::vector<std::string>& query, const std::string* accept,
                   FormatChoice& out, std::string& error);

}  // namespace pb::server
