// The JWT verification keys of one config: immutable, built as a whole from
// auth.jwt.keys and replaced as a whole on reload (a key that fails to build
// fails the whole set, so the running set stays).
//
// Selection (RFC 8725 §3.1, the algorithm is bound to the key):
//  * a token whose `kid` names a configured key is checked with that key
//    only, and only if the header's `alg` is that key's algorithm;
//  * otherwise (no kid, or a kid that names no key) the keys configured
//    without a kid whose algorithm is the header's are tried, in config
//    order. Keys with a kid are never tried for another kid.
//
// Threads: immutable; any thread.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "crypto/key.h"

namespace pb::auth {

// A key that cannot be built; what() names the key (its config position
// and file) and why, never the material.
class KeyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class KeySet {
 public:
  KeySet() = default;
  explicit KeySet(std::vector<std::shared_ptr<const crypto::Key>> keys) : keys_(std::move(keys)) {}

  // Builds every key of `cfg`; throws KeyError on the first that does not.
  static std::shared_ptr<const KeySet> from_config(const config::JwtConfig& cfg);

  bool empty() const { return keys_.empty(); }
  std::size_t size() const { return keys_.size(); }

  struct Candidates {
    std::vector<const crypto::Key*> keys;  // to try, in order
    bool kid_matched = false;              // the token's kid named a key
    bool alg_refused = false;              // ... whose algorithm is not the header's
  };
  // The keys a token with this header may be checked with (see above).
  Candidates select(crypto::Alg alg, const std::optional<std::string>& kid) const;
  // Whether any key (with or without a kid) uses `alg`.
  bool has_alg(crypto::Alg alg) const;

 private:
  std::vector<std::shared_ptr<const crypto::Key>> keys_;
};

}  // namespace pb::auth
