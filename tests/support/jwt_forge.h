// Test tokens made with OpenSSL directly, independently of src/auth: keys
// generated with EVP, PEM written with OpenSSL's encoders, signatures made
// with EVP_DigestSign / HMAC (ECDSA converted from DER to the raw r||s that
// JWS uses), base64url from EVP_EncodeBlock with the alphabet swapped. A
// test that passes therefore checks the verifier against OpenSSL, not
// against itself.
//
// Threads: test threads; keys are generated once per process.
#pragma once

#include <openssl/evp.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace pb::testing {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::shared_ptr<EVP_PKEY>;

// Keys shared by every test of the process (generation is slow).
Pkey rsa_2048();
Pkey rsa_2048_other();
Pkey rsa_1024();  // too small: must be refused as a key
Pkey ec_p256();
Pkey ec_p256_other();
Pkey ec_p384();
Pkey ed25519();

std::string public_pem(const Pkey& key);
std::string private_pem(const Pkey& key);

// Base64url without padding (via EVP_EncodeBlock).
std::string b64u(std::string_view bytes);

// Seconds since the Unix epoch, as JWT claims (exp, iat, nbf) count them.
inline long long unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A compact JWS "b64u(header).b64u(payload).b64u(signature)" over the given
// JSON texts. `alg` picks the signing: HS* with `secret`, RS* and ES* with
// `key`.
std::string sign_hmac(std::string_view alg, std::string_view secret, std::string_view header,
                      std::string_view payload);
std::string sign_with_key(std::string_view alg, const Pkey& key, std::string_view header,
                          std::string_view payload);

// The raw signature bytes for `input`, for tests that assemble tokens by hand.
std::string hmac_bytes(std::string_view alg, std::string_view secret, std::string_view input);
std::string key_signature_bytes(std::string_view alg, const Pkey& key, std::string_view input);

}  // namespace pb::testing
