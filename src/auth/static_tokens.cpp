#include "auth/static_tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace pb::auth {

StaticTokens::StaticTokens(const std::vector<std::string>& tokens) {
  for (const auto& t : tokens) digests_.push_back(digest(t));
}

StaticTokens::Digest StaticTokens::digest(std::string_view text) {
  Digest d{};
  unsigned int len = 0;
  // EVP_Digest with SHA-256 cannot fail on valid arguments; a failure leaves
  // the digest zeroed, which no token's SHA-256 is.
  EVP_Digest(text.data(), text.size(), d.data(), &len, EVP_sha256(), nullptr);
  return d;
}

std::optional<std::size_t> StaticTokens::match(std::string_view presented) const {
  const Digest d = digest(presented);
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < digests_.size(); ++i) {
    // No early exit: every digest is compared.
    const bool equal = CRYPTO_memcmp(d.data(), digests_[i].data(), d.size()) == 0;
    if (equal && !found) found = i;
  }
  return found;
}

}  // namespace pb::auth
