// One JWT verification key bound to exactly one algorithm (RFC 8725 §3.1):
// an HMAC secret for HS256/384/512, or a public key (RSA of at least 2048
// bits for RS256/384/512, EC on the matching curve for ES256/384). What
// fits is checked when the key is made, so a token whose header names
// another algorithm can never be verified with this key's material (no
// HS256 keyed with an RSA public key's PEM bytes).
//
// Threads: immutable once made; verify() from any thread at once (OpenSSL
// 3's EVP_PKEY is safe for concurrent read use).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "crypto/algorithm.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace pb::crypto {

class Key {
 public:
  // From an HMAC secret (raw bytes; at least hash_size(alg)) or a PEM
  // public key or certificate. Returns null and sets `why` (a phrase that
  // never quotes the material) when the material does not fit `alg`.
  static std::shared_ptr<const Key> make(Alg alg, std::string_view material, std::string kid,
                                         std::string& why);
  ~Key();
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;

  Alg alg() const { return alg_; }
  const std::string& kid() const { return kid_; }

  // Checks a JWS signature (already base64url-decoded) over `signing_input`
  // (the ASCII "header.payload" exactly as received). HMAC tags are
  // compared in constant time; ECDSA signatures are the raw r||s of
  // RFC 7518 §3.4 and must have exactly the curve's length.
  bool verify(std::string_view signing_input, std::string_view signature) const;

 private:
  Key(Alg alg, std::string kid) : alg_(alg), kid_(std::move(kid)) {}
  bool verify_hmac(std::string_view input, std::string_view signature) const;
  bool verify_public(std::string_view input, std::string_view signature) const;

  Alg alg_;
  std::string kid_;
  std::string secret_;        // HMAC
  EVP_PKEY* pkey_ = nullptr;  // RSA, ECDSA (owned)
};

}  // namespace pb::crypto
