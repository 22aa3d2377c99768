// The static bearer tokens of auth.tokens: each may read every stream.
// Stored only as SHA-256 digests; a presented token is hashed and compared
// with every digest with CRYPTO_memcmp, always all of them, so neither the
// length of a configured token nor which one matched (nor how far a guess
// got) shows in the time taken.
//
// Threads: immutable; any thread.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pb::auth {

class StaticTokens {
 public:
  StaticTokens() = default;
  explicit StaticTokens(const std::vector<std::string>& tokens);

  bool empty() const { return digests_.empty(); }
  // The index (in config order) of the token equal to `presented`.
  std::optional<std::size_t> match(std::string_view presented) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  static Digest digest(std::string_view text);
  std::vector<Digest> digests_;
};

}  // namespace pb::auth
