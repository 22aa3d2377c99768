#include "support/jwt_forge.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <stdexcept>
#include <vector>

namespace pb::testing {
namespace {

Pkey wrap(EVP_PKEY* k) {
  if (k == nullptr) throw std::runtime_error("key generation failed");
  return Pkey(k, PkeyDeleter());
}

const EVP_MD* md_of(std::string_view alg) {
  const std::string_view bits = alg.substr(2);
  if (bits == "384") return EVP_sha384();
  if (bits == "512") return EVP_sha512();
  return EVP_sha256();
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

}  // namespace

Pkey rsa_2048() {
  static Pkey k = wrap(EVP_RSA_gen(2048));
  return k;
}
Pkey rsa_2048_other() {
  static Pkey k = wrap(EVP_RSA_gen(2048));
  return k;
}
Pkey rsa_1024() {
  static Pkey k = wrap(EVP_RSA_gen(1024));
  return k;
}
Pkey ec_p256() {
  static Pkey k = wrap(EVP_EC_gen("P-256"));
  return k;
}
Pkey ec_p256_other() {
  static Pkey k = wrap(EVP_EC_gen("P-256"));
  return k;
}
Pkey ec_p384() {
  static Pkey k = wrap(EVP_EC_gen("P-384"));
  return k;
}
Pkey ed25519() {
  static Pkey k = wrap(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  return k;
}

std::string public_pem(const Pkey& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key.get());
  return bio_text(bio);
}

std::string private_pem(const Pkey& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio);
}

std::string b64u(std::string_view bytes) {
  std::vector<unsigned char> out(4 * ((bytes.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  std::string s(reinterpret_cast<char*>(out.data()), static_cast<std::size_t>(n));
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

std::string hmac_bytes(std::string_view alg, std::string_view secret, std::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md_of(alg), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

std::string key_signature_bytes(std::string_view alg, const Pkey& key, std::string_view input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, md_of(alg), nullptr, key.get());
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  if (alg.substr(0, 2) != "ES") return sig;
  // DER ECDSA-Sig-Value -> r||s, each left-padded to the coordinate size.
  const std::size_t n = alg == "ES256" ? 32 : 48;
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  std::string raw(2 * n, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()),
               static_cast<int>(n));
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + n,
               static_cast<int>(n));
  ECDSA_SIG_free(es);
  return raw;
}

std::string sign_hmac(std::string_view alg, std::string_view secret, std::string_view header,
                      std::string_view payload) {
  const std::string input = b64u(header) + "." + b64u(payload);
  return input + "." + b64u(hmac_bytes(alg, secret, input));
}

std::string sign_with_key(std::string_view alg, const Pkey& key, std::string_view header,
                          std::string_view payload) {
  const std::string input = b64u(header) + "." + b64u(payload);
  return input + "." + b64u(key_signature_bytes(alg, key, input));
}

}  // namespace pb::testing
