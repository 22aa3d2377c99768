// Names for things that must not appear in logs as they are: a per-user
// instance's address is derived from a user's credentials, so it is logged
// as a short keyed digest instead (HMAC-SHA-256 under a per-process random
// key, 12 hex digits): equal within the process, so the lines of one
// instance can be followed, and useless to anyone trying to recover what it
// was made from.
//
// Threads: any.
#pragma once

#include <string>
#include <string_view>

namespace pb::log {

// "u-" followed by 12 hex digits.
std::string private_id(std::string_view text);

// What the `instance` field of a log line says for an instance address:
// the address itself, or private_id(address) for a per-user instance
// (a stream with forward_headers).
inline std::string instance_field(std::string_view address, bool per_user) {
  return per_user ? private_id(address) : std::string(address);
}

}  // namespace pb::log
