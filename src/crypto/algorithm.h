// The JWS algorithms pollbridge verifies (RFC 7518 §3): HMAC with SHA-2,
// RSASSA-PKCS1-v1_5 and ECDSA on P-256 / P-384. `none` is not one of them and
// has no value here, so nothing can select it. Names are case-sensitive
// (RFC 7515 §4.1.1): "hs256" and "None" are unknown names.
//
// Pure; callable from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

typedef struct evp_md_st EVP_MD;

namespace pb::crypto {

enum class Alg { kHS256, kHS384, kHS512, kRS256, kRS384, kRS512, kES256, kES384 };

enum class AlgFamily { kHmac, kRsa, kEcdsa };

// The exact name, or nullopt for anything else ("none" included).
std::optional<Alg> alg_from_name(std::string_view name);
const char* alg_name(Alg alg);
AlgFamily family_of(Alg alg);
// The hash the algorithm signs with (OpenSSL's static EVP_MD).
const EVP_MD* digest_of(Alg alg);
// Bytes of the hash output: the least HMAC secret RFC 7518 §3.2 allows.
std::size_t hash_size(Alg alg);
// ECDSA: bytes of each of r and s in the JWS signature (RFC 7518 §3.4);
// 0 for the other families.
std::size_t ecdsa_coordinate_size(Alg alg);
// ECDSA: the curve's OpenSSL NID; 0 for the other families.
int ecdsa_curve_nid(Alg alg);
// "HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384" (for messages).
const char* supported_alg_names();

// RFC 7518 §3.3: RSA keys of at least this many bits.
constexpr int kMinRsaBits = 2048;

}  // namespace pb::crypto
