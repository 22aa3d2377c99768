// Keys (src/crypto/key.h): each algorithm accepts only the material it fits.
#include <gtest/gtest.h>
#include <openssl/encoder.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

#include "auth/base64url.h"
#include "crypto/key.h"
#include "support/file_local.h"
#include "support/jwt_forge.h"

namespace pb::auth {
namespace PB_FILE_LOCAL {

using namespace pb::testing;

std::string make_why(crypto::Alg alg, const std::string& material) {
  std::string why;
  auto k = crypto::Key::make(alg, material, "", why);
  EXPECT_EQ(k, nullptr) << crypto::alg_name(alg);
  return why;
}

bool fits(crypto::Alg alg, const std::string& material) {
  std::string why;
  return crypto::Key::make(alg, material, "", why) != nullptr;
}

std::string pkcs1_pem(const Pkey& key) {
  OSSL_ENCODER_CTX* ctx = OSSL_ENCODER_CTX_new_for_pkey(key.get(), EVP_PKEY_PUBLIC_KEY, "PEM",
                                                        "type-specific", nullptr);
  unsigned char* data = nullptr;
  std::size_t len = 0;
  EXPECT_EQ(OSSL_ENCODER_to_data(ctx, &data, &len), 1);
  OSSL_ENCODER_CTX_free(ctx);
  std::string out(reinterpret_cast<char*>(data), len);
  OPENSSL_free(data);
  return out;
}

std::string self_signed_cert_pem(const Pkey& key) {
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("idp"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, key.get(), EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  X509_free(x);
  return out;
}

TEST(AuthKeyTest, HmacSecretsMustBeAtLeastTheHashSize) {
  EXPECT_FALSE(fits(crypto::Alg::kHS256, std::string(31, 's')));
  EXPECT_TRUE(fits(crypto::Alg::kHS256, std::string(32, 's')));
  EXPECT_FALSE(fits(crypto::Alg::kHS384, std::string(47, 's')));
  EXPECT_TRUE(fits(crypto::Alg::kHS384, std::string(48, 's')));
  EXPECT_FALSE(fits(crypto::Alg::kHS512, std::string(63, 's')));
  EXPECT_TRUE(fits(crypto::Alg::kHS512, std::string(64, 's')));
  EXPECT_FALSE(fits(crypto::Alg::kHS256, ""));
  const std::string why = make_why(crypto::Alg::kHS256, "short-secret-value");
  EXPECT_NE(why.find("32 bytes"), std::string::npos) << why;
  EXPECT_EQ(why.find("short-secret-value"), std::string::npos) << why;
}

TEST(AuthKeyTest, APemKeyIsNeverAnHmacSecret) {
  const std::string why = make_why(crypto::Alg::kHS256, public_pem(rsa_2048()));
  EXPECT_NE(why.find("PEM"), std::string::npos) << why;
  EXPECT_FALSE(fits(crypto::Alg::kHS512, public_pem(ec_p256()) + std::string(64, 'x')));
}

TEST(AuthKeyTest, RsaAlgorithmsNeedAnRsaKeyOfAtLeast2048Bits) {
  EXPECT_TRUE(fits(crypto::Alg::kRS256, public_pem(rsa_2048())));
  EXPECT_TRUE(fits(crypto::Alg::kRS512, public_pem(rsa_2048())));
  EXPECT_NE(make_why(crypto::Alg::kRS256, public_pem(ec_p256())).find("EC key"), std::string::npos);
  EXPECT_NE(make_why(crypto::Alg::kRS256, public_pem(rsa_1024())).find("1024-bit"),
            std::string::npos);
  EXPECT_NE(make_why(crypto::Alg::kRS256, public_pem(ed25519())).find("Ed25519"),
            std::string::npos);
  EXPECT_FALSE(fits(crypto::Alg::kRS256, std::string(64, 's')));  // a secret
}

TEST(AuthKeyTest, EcdsaAlgorithmsNeedAKeyOnTheirCurve) {
  EXPECT_TRUE(fits(crypto::Alg::kES256, public_pem(ec_p256())));
  EXPECT_TRUE(fits(crypto::Alg::kES384, public_pem(ec_p384())));
  EXPECT_NE(make_why(crypto::Alg::kES256, public_pem(ec_p384())).find("P-256"), std::string::npos);
  EXPECT_NE(make_why(crypto::Alg::kES384, public_pem(ec_p256())).find("P-384"), std::string::npos);
  EXPECT_NE(make_why(crypto::Alg::kES256, public_pem(rsa_2048())).find("RSA key"),
            std::string::npos);
}

TEST(AuthKeyTest, PrivateKeysAndGarbageAreRefused) {
  const std::string why = make_why(crypto::Alg::kRS256, private_pem(rsa_2048()));
  EXPECT_NE(why.find("private key"), std::string::npos) << why;
  EXPECT_FALSE(fits(crypto::Alg::kES256, private_pem(ec_p256())));
  EXPECT_FALSE(fits(crypto::Alg::kRS256, "not a key"));
  EXPECT_FALSE(
      fits(crypto::Alg::kRS256, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"));
  std::string truncated = public_pem(rsa_2048());
  truncated.resize(truncated.size() / 2);
  EXPECT_FALSE(fits(crypto::Alg::kRS256, truncated));
}

TEST(AuthKeyTest, Pkcs1AndCertificatesAreReadToo) {
  const std::string pkcs1 = pkcs1_pem(rsa_2048());
  ASSERT_NE(pkcs1.find("BEGIN RSA PUBLIC KEY"), std::string::npos) << pkcs1;
  EXPECT_TRUE(fits(crypto::Alg::kRS256, pkcs1));
  const std::string cert = self_signed_cert_pem(rsa_2048());
  ASSERT_NE(cert.find("BEGIN CERTIFICATE"), std::string::npos);
  std::string why;
  auto k = crypto::Key::make(crypto::Alg::kRS256, cert, "", why);
  ASSERT_NE(k, nullptr) << why;
  // The certificate's key verifies what the private key signed.
  const std::string input = "aGVhZGVy.cGF5bG9hZA";
  EXPECT_TRUE(k->verify(input, key_signature_bytes("RS256", rsa_2048(), input)));
  EXPECT_FALSE(k->verify(input, key_signature_bytes("RS256", rsa_2048_other(), input)));
  EXPECT_FALSE(fits(crypto::Alg::kES256, self_signed_cert_pem(ec_p384())));
  EXPECT_TRUE(fits(crypto::Alg::kES384, self_signed_cert_pem(ec_p384())));
}

TEST(AuthKeyTest, HmacVerificationComparesTheWholeTag) {
  const std::string secret(32, 'q');
  std::string why;
  auto k = crypto::Key::make(crypto::Alg::kHS256, secret, "", why);
  ASSERT_NE(k, nullptr);
  const std::string input = "a.b";
  const std::string tag = hmac_bytes("HS256", secret, input);
  EXPECT_TRUE(k->verify(input, tag));
  for (std::size_t i = 0; i < tag.size(); ++i) {
    std::string t = tag;
    t[i] = static_cast<char>(t[i] ^ 1);
    EXPECT_FALSE(k->verify(input, t)) << i;
  }
  EXPECT_FALSE(k->verify(input, tag.substr(0, 16)));  // a truncated tag
  EXPECT_FALSE(k->verify(input, tag + "x"));
  EXPECT_FALSE(k->verify(input, ""));
}

TEST(AuthBase64UrlTest, DecodesCanonicalTextOnly) {
  std::string out;
  EXPECT_TRUE(decode_base64url("", out));
  EXPECT_EQ(out, "");
  for (const std::string& bytes : {std::string("f"), std::string("fo"), std::string("foo"),
                                   std::string("foob"), std::string("\xff\xfe\x00\x01", 4)}) {
    out.clear();
    EXPECT_TRUE(decode_base64url(encode_base64url(bytes), out));
    EXPECT_EQ(out, bytes);
    EXPECT_EQ(encode_base64url(bytes), b64u(bytes));  // the same as OpenSSL's, translated
  }
  for (const char* bad :
       {"Zg==", "Zg=", "Z", "Zm9vY", "Zh", "Zm9=", "Zm+v", "Zm/v", "Zm 9v", "Zm9v\n", "Zm\x80v"}) {
    out.clear();
    EXPECT_FALSE(decode_base64url(bad, out)) << bad;
  }
  out.clear();
  EXPECT_TRUE(decode_base64url("_-8", out));  // URL-safe alphabet
  EXPECT_EQ(out, "\xff\xef");
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::auth
