#include "crypto/key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <vector>

namespace pb::crypto {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

// A PEM "PUBLIC KEY" (SubjectPublicKeyInfo), "RSA PUBLIC KEY" (PKCS#1) or
// "CERTIFICATE" (its subject's key). Private keys are refused: pollbridge
// only verifies and must not hold signing material.
PkeyPtr read_public_key(std::string_view pem, std::string& why) {
  if (!contains(pem, "-----BEGIN ")) {
    why = "is not a PEM file (no \"-----BEGIN\" line)";
    return nullptr;
  }
  if (contains(pem, "PRIVATE KEY-----")) {
    why =
        "holds a private key; give the public key instead (openssl pkey -in key.pem -pubout "
        "-out public.pem)";
    return nullptr;
  }
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    why = "cannot be read (out of memory)";
    return nullptr;
  }
  PkeyPtr key;
  if (contains(pem, "-----BEGIN CERTIFICATE-----")) {
    std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert) key.reset(X509_get_pubkey(cert.get()));
  } else {
    // SubjectPublicKeyInfo ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC KEY").
    EVP_PKEY* decoded = nullptr;
    OSSL_DECODER_CTX* dctx = OSSL_DECODER_CTX_new_for_pkey(&decoded, "PEM", nullptr, nullptr,
                                                           EVP_PKEY_PUBLIC_KEY, nullptr, nullptr);
    if (dctx != nullptr && OSSL_DECODER_from_bio(dctx, bio.get()) == 1) key.reset(decoded);
    OSSL_DECODER_CTX_free(dctx);
  }
  ERR_clear_error();
  if (!key) {
    why = "is not a readable PEM public key or certificate";
    return nullptr;
  }
  return key;
}

std::string kind_of(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA")) return "an RSA key";
  if (EVP_PKEY_is_a(key, "RSA-PSS")) return "an RSA-PSS key";
  if (EVP_PKEY_is_a(key, "EC")) return "an EC key";
  if (EVP_PKEY_is_a(key, "ED25519")) return "an Ed25519 key";
  if (EVP_PKEY_is_a(key, "ED448")) return "an Ed448 key";
  return "a key of another type";
}

int curve_nid(EVP_PKEY* key) {
  char name[64] = {0};
  std::size_t len = 0;
  if (EVP_PKEY_get_group_name(key, name, sizeof name, &len) != 1) return 0;
  int nid = OBJ_sn2nid(name);
  if (nid == NID_undef) nid = EC_curve_nist2nid(name);
  return nid;
}

const char* curve_name(Alg alg) {
  return alg == Alg::kES256 ? "P-256" : "P-384";
}

// Checks that `key` is the kind `alg` needs; sets `why` otherwise.
bool fits(Alg alg, EVP_PKEY* key, std::string& why) {
  const std::string name = alg_name(alg);
  if (family_of(alg) == AlgFamily::kRsa) {
    if (!EVP_PKEY_is_a(key, "RSA")) {
      why = "is " + kind_of(key) + "; " + name + " needs an RSA public key";
      return false;
    }
    const int bits = EVP_PKEY_get_bits(key);
    if (bits < kMinRsaBits) {
      why = "is a " + std::to_string(bits) + "-bit RSA key; RFC 7518 §3.3 requires at least " +
            std::to_string(kMinRsaBits) + " bits";
      return false;
    }
    return true;
  }
  if (!EVP_PKEY_is_a(key, "EC")) {
    why = "is " + kind_of(key) + "; " + name + " needs an EC public key on " + curve_name(alg);
    return false;
  }
  if (curve_nid(key) != ecdsa_curve_nid(alg)) {
    why = std::string("is an EC key on another curve; ") + name + " needs " + curve_name(alg);
    return false;
  }
  return true;
}

// ECDSA signatures in JWS are r||s, each left-padded to the curve size;
// OpenSSL verifies the DER ECDSA-Sig-Value. Returns "" if the length is
// wrong.
std::string raw_to_der(std::string_view raw, std::size_t coordinate) {
  if (raw.size() != 2 * coordinate) return {};
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  if (!sig) return {};
  BIGNUM* r = BN_bin2bn(bytes, static_cast<int>(coordinate), nullptr);
  BIGNUM* s = BN_bin2bn(bytes + coordinate, static_cast<int>(coordinate), nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return {};
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return {};
  return der;
}

}  // namespace

std::shared_ptr<const Key> Key::make(Alg alg, std::string_view material, std::string kid,
                                     std::string& why) {
  std::shared_ptr<Key> key(new Key(alg, std::move(kid)));
  if (family_of(alg) == AlgFamily::kHmac) {
    if (contains(material, "-----BEGIN ")) {
      why = std::string("looks like a PEM key; ") + alg_name(alg) +
            " needs a shared secret, and a public key must never be an HMAC secret "
            "(RFC 8725 §2.1)";
      return nullptr;
    }
    if (material.size() < hash_size(alg)) {
      why = std::string("is too short: ") + alg_name(alg) + " needs at least " +
            std::to_string(hash_size(alg)) + " bytes (RFC 7518 §3.2), the secret has " +
            std::to_string(material.size());
      return nullptr;
    }
    key->secret_.assign(material.data(), material.size());
    return key;
  }
  PkeyPtr pkey = read_public_key(material, why);
  if (!pkey || !fits(alg, pkey.get(), why)) return nullptr;
  key->pkey_ = pkey.release();
  return key;
}

Key::~Key() {
  if (!secret_.empty()) OPENSSL_cleanse(secret_.data(), secret_.size());
  EVP_PKEY_free(pkey_);
}

bool Key::verify(std::string_view signing_input, std::string_view signature) const {
  if (family_of(alg_) == AlgFamily::kHmac) return verify_hmac(signing_input, signature);
  return verify_public(signing_input, signature);
}

bool Key::verify_hmac(std::string_view input, std::string_view signature) const {
  unsigned char tag[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(digest_of(alg_), secret_.data(), static_cast<int>(secret_.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), tag,
           &len) == nullptr) {
    return false;
  }
  // The length is public (the algorithm fixes it); the bytes are compared
  // without an early exit.
  if (signature.size() != len) return false;
  return CRYPTO_memcmp(tag, signature.data(), len) == 0;
}

bool Key::verify_public(std::string_view input, std::string_view signature) const {
  std::string der;
  std::string_view sig = signature;
  if (family_of(alg_) == AlgFamily::kEcdsa) {
    der = raw_to_der(signature, ecdsa_coordinate_size(alg_));
    if (der.empty()) return false;
    sig = der;
  } else if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(pkey_))) {
    return false;  // RSASSA-PKCS1-v1_5: exactly the modulus length
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  bool ok =
      EVP_DigestVerifyInit(ctx.get(), nullptr, digest_of(alg_), nullptr, pkey_) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace pb::crypto
