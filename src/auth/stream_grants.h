// What a token may read: the addresses and patterns of its streams claim
// (auth.jwt.streams_claim, "streams" by default).
//
// The claim is a JSON array of strings, or one string of entries separated
// by spaces (the OAuth `scope` convention, RFC 6749 §3.3). Each entry is:
//   "*"            every stream;
//   "orders"       exactly that address;
//   "customer/42"  exactly that address (a parameterized stream's instance);
//   "customer/*"   any address of that shape: a `*` segment stands for
//                  exactly one non-empty segment ("customer/42", not
//                  "customer" nor "customer/42/x"); several are allowed
//                  ("tenant/*/orders/*").
// An entry with an empty segment, or with `*` inside a segment ("cust*"),
// is invalid and grants nothing; so does a claim of another type. Matching
// compares segments as bytes: linear in the length, no regular
// expressions on request input.
//
// Threads: immutable once made; any thread.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace pb::auth {

// Most entries read from one claim (the token's size bounds them anyway).
constexpr std::size_t kMaxGrantEntries = 256;

class StreamGrants {
 public:
  StreamGrants() = default;
  // Everything (a static token).
  static StreamGrants all();
  // From the claim's value; `claim` null or of another type grants nothing.
  static StreamGrants from_claim(const nlohmann::json* claim);

  bool covers(std::string_view address) const;
  bool everything() const { return all_; }

 private:
  bool all_ = false;
  std::vector<std::vector<std::string>> patterns_;  // segments; "*" is a wildcard
};

// Splits an address or pattern at '/'; false if a segment is empty.
bool split_address(std::string_view text, std::vector<std::string_view>& out);

}  // namespace pb::auth
