#include "crypto/algorithm.h"

#include <openssl/evp.h>
#include <openssl/obj_mac.h>

namespace pb::crypto {
namespace {

struct AlgInfo {
  Alg alg;
  const char* name;
  AlgFamily family;
  std::size_t hash_bytes;
};

constexpr AlgInfo kAlgs[] = {
    {Alg::kHS256, "HS256", AlgFamily::kHmac, 32},  {Alg::kHS384, "HS384", AlgFamily::kHmac, 48},
    {Alg::kHS512, "HS512", AlgFamily::kHmac, 64},  {Alg::kRS256, "RS256", AlgFamily::kRsa, 32},
    {Alg::kRS384, "RS384", AlgFamily::kRsa, 48},   {Alg::kRS512, "RS512", AlgFamily::kRsa, 64},
    {Alg::kES256, "ES256", AlgFamily::kEcdsa, 32}, {Alg::kES384, "ES384", AlgFamily::kEcdsa, 48},
};

const AlgInfo& info(Alg alg) {
  for (const auto& a : kAlgs) {
    if (a.alg == alg) return a;
  }
  return kAlgs[0];  // unreachable: every enumerator is in the table
}

}  // namespace

std::optional<Alg> alg_from_name(std::string_view name) {
  for (const auto& a : kAlgs) {
    if (name == a.name) return a.alg;
  }
  return std::nullopt;
}

const char* alg_name(Alg alg) {
  return info(alg).name;
}

AlgFamily family_of(Alg alg) {
  return info(alg).family;
}

const EVP_MD* digest_of(Alg alg) {
  switch (info(alg).hash_bytes) {
    case 48:
      return EVP_sha384();
    case 64:
      return EVP_sha512();
    default:
      return EVP_sha256();
  }
}

std::size_t hash_size(Alg alg) {
  return info(alg).hash_bytes;
}

std::size_t ecdsa_coordinate_size(Alg alg) {
  if (alg == Alg::kES256) return 32;
  if (alg == Alg::kES384) return 48;
  return 0;
}

int ecdsa_curve_nid(Alg alg) {
  if (alg == Alg::kES256) return NID_X9_62_prime256v1;
  if (alg == Alg::kES384) return NID_secp384r1;
  return 0;
}

const char* supported_alg_names() {
  return "HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384";
}

}  // namespace pb::crypto
