// The representation a subscriber asked for (`?format=` or `Accept`,
// docs/protocol.md "Formats"), and how it relates to a stream's own diff
// mode. Pure; callable from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

#include "config/config.h"

namespace pb::stream {

enum class Format : unsigned char {
  kNative = 0,  // whatever the stream's `diff` mode sends (the default)
  kSnapshot,    // the whole document on every change
  kJsonPatch,   // RFC 6902 `patch` events
  kMergePatch,  // RFC 7386 `merge-patch` events
};
inline constexpr std::size_t kFormatCount = 4;

// "snapshot", "json-patch", "merge-patch" (and "native" for kNative).
std::string_view format_name(Format f);
// The inverse for the three names a client may send; nullopt otherwise.
std::optional<Format> parse_format(std::string_view name);

// What a subscriber asking for `requested` gets from a stream in `mode`:
// kNative when that is what the mode sends anyway (json-patch from a
// json-patch stream, snapshot from a text stream), the format itself when
// pollbridge converts, or nullopt when no faithful conversion exists (a
// patch format from `items` or `text` streams).
std::optional<Format> resolve_format(config::DiffMode mode, Format requested);

}  // namespace pb::stream
