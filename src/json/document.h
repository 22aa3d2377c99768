// JSON documents as pollbridge keeps them: upstream key order preserved, every
// number's text preserved, equality semantic.
//
// The value type is nlohmann::ordered_json. Integers that fit in 64 bits are
// kept as nlohmann integers (their text is canonical). Every other number
// (fractions, exponents, integers past 2^64) is kept as its exact source text
// in a binary value with subtype kRawNumberSubtype; nlohmann's parser never
// produces binary values from JSON text, so the two cannot be confused. Only
// this module's dump() writes such values, and it writes the text unchanged.
//
// Pure functions; callable from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pb::json {

using Json = nlohmann::ordered_json;

// Subtype that marks a binary value as a raw JSON number token.
constexpr std::uint8_t kRawNumberSubtype = 0x4e;

// Nesting deeper than this is refused at parse time: every recursive walk in
// pollbridge (dump, equal, diff) is then bounded and cannot exhaust the stack.
constexpr std::size_t kMaxDepth = 256;

class ParseError : public std::runtime_error {
 public:
  ParseError(const std::string& what, std::size_t offset)
      : std::runtime_error(what), offset_(offset) {}
  std::size_t offset() const { return offset_; }

 private:
  std::size_t offset_;
};

// Parses RFC 8259 JSON text. Throws ParseError (with the byte offset) on
// invalid text, invalid UTF-8, trailing garbage or nesting past max_depth.
// A member name that occurs twice in one object keeps its first position and
// its last value (as JSON.parse does). O(n) in the text for names that hash
// well, O(n log n) for any (json/members.h); the calling thread keeps its
// member buffers for the next parse (document.cpp, kRetainedMembers).
Json parse(std::string_view text, std::size_t max_depth = kMaxDepth);

// Compact serialization. Strings are escaped as JSON requires (control
// characters as \u00XX, so the output never contains CR, LF or NUL); raw
// numbers are written as their source text.
std::string dump(const Json& value);
void dump_to(std::string& out, const Json& value);
// dump(value).size(), counted without building the text.
std::size_t dumped_size(const Json& value);

// Semantic equality: object member order is ignored, numbers compare by their
// exact decimal value (1.10 == 1.1 == 11e-1, 1 == 1.0), everything else as is.
bool equal(const Json& a, const Json& b);

// True for nlohmann numbers and raw numbers.
bool is_number(const Json& value);
bool is_raw_number(const Json& value);

// Builds a raw number from its JSON text (the caller guarantees valid JSON
// number syntax).
Json raw_number(std::string_view text);

// The source text of a raw number (empty view if value is not one).
std::string_view raw_number_text(const Json& value);

// Canonical exact decimal form of a number: equal numbers give equal strings.
// Throws std::invalid_argument if value is not a number.
std::string canonical_number(const Json& value);

// A string that identifies a scalar for use as a map key (keyed arrays):
// equal scalars give equal strings, different types never collide. Objects
// and arrays are rendered with sorted keys so that equal values still match.
std::string identity(const Json& value);

}  // namespace pb::json
