// The HMAC key that digests per-user instances' forwarded values into their
// registry and store keys (core/instance_request.h). Kept in the state
// directory (file `user-key`, 32 random bytes, mode 0600) when per-user
// state persists, so that a restarted pollbridge finds a user's saved
// history under the same key; otherwise each process draws its own.
//
// Threads: the main thread, in App::open_state at start, before any request;
// random_user_key() also from the Runtime's constructor (its default key).
#pragma once

#include <string>

namespace pb::core {

// Bytes of a user key.
constexpr std::size_t kUserKeyBytes = 32;

// 32 fresh random bytes (OpenSSL's CSPRNG); throws if none can be had.
std::string random_user_key();

// The key in `dir`/user-key, made (atomically, 0600) if it is missing.
// Throws std::runtime_error with the path when it cannot be read or made,
// or holds anything but kUserKeyBytes bytes.
std::string load_or_make_user_key(const std::string& dir);

}  // namespace pb::core
