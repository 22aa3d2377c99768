// Character sets of upstream bodies: the `charset` parameter of a
// Content-Type (RFC 9110 §8.3: parameter names are case-insensitive, values
// may be quoted strings) and the conversion of a body to UTF-8 with glibc's
// iconv (ISO-8859-1, windows-1252, UTF-16 with its BOM, UTF-16LE/BE and
// every other charset `iconv -l` lists). Every parser of ingest/ (JSON,
// XML, CSV, HTML, `diff: text`) gets its text through to_utf8(), so a
// document is always valid UTF-8 and a byte sequence that is invalid in its
// charset is an error naming its offset, never a broken SSE frame.
//
// Threads: pure functions; any thread (each call opens its own iconv
// descriptor).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "ingest/decode_error.h"

namespace pb::ingest {

// The media type of a Content-Type value, lower-cased and without
// parameters ("text/xml; charset=..." -> "text/xml"); "" if none.
std::string media_type_of(std::string_view content_type);

// The value of the `charset` parameter of a Content-Type value, lower-cased,
// unquoted; "" if there is none (or the header is empty).
std::string charset_of(std::string_view content_type);

// True for the names of UTF-8 ("utf-8", "utf8", any case), which are
// validated rather than converted.
bool is_utf8_name(std::string_view charset);

// `body` in `charset` as UTF-8 of at most `max_bytes` bytes. An empty charset
// or UTF-8 is validated and returned as is; any other is converted. Throws
// DecodeError:
//  - "unknown charset \"x\"" when iconv does not know it;
//  - "invalid <charset> at byte N" for a byte sequence invalid in it (N is
//    the offset in `body`), or one cut short at the end;
//  - "body larger than max_body (N bytes) once decoded to UTF-8" when the
//    UTF-8 text would exceed `max_bytes` (UTF-16 grows by up to half).
// A BOM is kept unless the charset is one that consumes it ("utf-16",
// "utf-32"): parsers that accept one drop it themselves.
std::string to_utf8(std::string_view body, std::string_view charset, std::size_t max_bytes);

// Replaces invalid UTF-8 sequences with U+FFFD, one per byte that starts
// none (as a browser decoding the event stream would): `diff: text` bodies
// without a declared charset, and texts quoted in messages.
std::string sanitize_utf8(std::string_view in);

// The offset of the first byte that does not start a valid UTF-8 sequence,
// or npos if `text` is valid UTF-8.
std::size_t first_invalid_utf8(std::string_view text);

}  // namespace pb::ingest
