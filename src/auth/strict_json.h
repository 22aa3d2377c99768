// The JSON of a JOSE header or a JWT claims set, parsed strictly: one object,
// valid UTF-8 (RFC 8725 §3.7), no member name twice at any depth (RFC 7515
// §4 and RFC 7519 §4 allow refusing them; RFC 8725 §2.6: two parsers must
// not read different values), nesting bounded. nlohmann's parser keeps the
// last of duplicate members silently, so duplicates are caught by its
// parse callback.
//
// Pure; callable from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

namespace pb::auth {

// Deepest nesting accepted in a header or claims set. Claims are flat in
// practice; this only bounds the work on hostile input.
constexpr int kMaxJsonDepth = 16;

// The object, or nullopt if `text` is not exactly one JSON object under the
// rules above.
std::optional<nlohmann::json> parse_strict_object(std::string_view text);

}  // namespace pb::auth
