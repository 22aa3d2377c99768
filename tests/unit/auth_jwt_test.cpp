// JWT verification (src/auth/jwt_verifier.h): every rule tried by breaking
// it, with tokens made by OpenSSL in tests/support/jwt_forge (not by the
// verifier).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auth/base64url.h"
#include "auth/jwt_verifier.h"
#include "auth/key_set.h"
#include "support/auth_print.h"
#include "support/file_local.h"
#include "support/jwt_forge.h"

namespace pb::auth {
namespace PB_FILE_LOCAL {

using namespace pb::testing;
using std::chrono::seconds;
using Json = nlohmann::json;

const auto kNow = std::chrono::system_clock::time_point(seconds(1'700'000'000));
constexpr long long kNowS = 1'700'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef";  // 32 bytes
const std::string kSecret2 = "fedcba9876543210fedcba9876543210";
const std::string kSecret64(64, 'k');

config::JwtKeyConfig hs(const std::string& alg, const std::string& secret,
                        const std::string& kid = "") {
  config::JwtKeyConfig k;
  k.alg = alg;
  k.kid = kid;
  k.material = secret;
  k.where = "test";
  return k;
}

config::JwtKeyConfig pk(const std::string& alg, const Pkey& key, const std::string& kid = "") {
  config::JwtKeyConfig k;
  k.alg = alg;
  k.kid = kid;
  k.file = "test.pem";
  k.material = public_pem(key);
  k.where = "test";
  return k;
}

std::shared_ptr<const KeySet> keys(std::vector<config::JwtKeyConfig> list) {
  config::JwtConfig cfg;
  cfg.keys = std::move(list);
  return KeySet::from_config(cfg);
}

std::string header(const std::string& alg, const std::string& kid = "") {
  Json h = {{"alg", alg}, {"typ", "JWT"}};
  if (!kid.empty()) h["kid"] = kid;
  return h.dump();
}

// Claims valid at kNow for a minute.
Json claims() {
  return Json{{"sub", "alice"}, {"iat", kNowS - 10}, {"exp", kNowS + 60}};
}

Reason verify(const std::string& token, const KeySet& ks, const JwtRules& rules = {}) {
  return verify_jwt(token, ks, rules, kNow).reason;
}

TEST(AuthJwtTest, AcceptsEverySupportedAlgorithmSignedByOpenSsl) {
  struct Case {
    std::string alg;
    std::string token;
    config::JwtKeyConfig key;
  };
  const std::string c = claims().dump();
  const std::vector<Case> cases = {
      {"HS256", sign_hmac("HS256", kSecret, header("HS256"), c), hs("HS256", kSecret)},
      {"HS384", sign_hmac("HS384", kSecret64, header("HS384"), c), hs("HS384", kSecret64)},
      {"HS512", sign_hmac("HS512", kSecret64, header("HS512"), c), hs("HS512", kSecret64)},
      {"RS256", sign_with_key("RS256", rsa_2048(), header("RS256"), c), pk("RS256", rsa_2048())},
      {"RS384", sign_with_key("RS384", rsa_2048(), header("RS384"), c), pk("RS384", rsa_2048())},
      {"RS512", sign_with_key("RS512", rsa_2048(), header("RS512"), c), pk("RS512", rsa_2048())},
      {"ES256", sign_with_key("ES256", ec_p256(), header("ES256"), c), pk("ES256", ec_p256())},
      {"ES384", sign_with_key("ES384", ec_p384(), header("ES384"), c), pk("ES384", ec_p384())},
  };
  for (const auto& tc : cases) {
    auto ks = keys({tc.key});
    JwtResult r = verify_jwt(tc.token, *ks, {}, kNow);
    EXPECT_EQ(r.reason, Reason::kOk) << tc.alg << ": " << reason_name(r.reason);
    ASSERT_TRUE(r.jwt) << tc.alg;
    EXPECT_EQ(r.jwt->subject.value_or(""), "alice");
    EXPECT_EQ(r.jwt->expires, std::chrono::system_clock::time_point(seconds(kNowS + 60)));
  }
}

TEST(AuthJwtTest, ForgedSignaturesAreRefused) {
  const std::string c = claims().dump();
  auto hs_keys = keys({hs("HS256", kSecret)});
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret2, header("HS256"), c), *hs_keys),
            Reason::kBadSignature);
  auto rs_keys = keys({pk("RS256", rsa_2048())});
  EXPECT_EQ(verify(sign_with_key("RS256", rsa_2048_other(), header("RS256"), c), *rs_keys),
            Reason::kBadSignature);
  auto es_keys = keys({pk("ES256", ec_p256())});
  EXPECT_EQ(verify(sign_with_key("ES256", ec_p256_other(), header("ES256"), c), *es_keys),
            Reason::kBadSignature);
  // A signature of the right length made of zeros / of another message.
  const std::string input = b64u(header("HS256")) + "." + b64u(c);
  EXPECT_EQ(verify(input + "." + b64u(std::string(32, '\0')), *hs_keys), Reason::kBadSignature);
}

TEST(AuthJwtTest, TamperedPayloadOrHeaderIsRefused) {
  auto ks = keys({hs("HS256", kSecret), pk("RS256", rsa_2048(), "r")});
  for (const std::string& token :
       {sign_hmac("HS256", kSecret, header("HS256"), claims().dump()),
        sign_with_key("RS256", rsa_2048(), header("RS256", "r"), claims().dump())}) {
    ASSERT_EQ(verify(token, *ks), Reason::kOk);
    const auto d1 = token.find('.');
    const auto d2 = token.find('.', d1 + 1);
    Json evil = claims();
    evil["sub"] = "mallory";
    const std::string swapped = token.substr(0, d1 + 1) + b64u(evil.dump()) + token.substr(d2);
    EXPECT_EQ(verify(swapped, *ks), Reason::kBadSignature);
    // One character of the payload changed.
    std::string flipped = token;
    flipped[d1 + 3] = flipped[d1 + 3] == 'A' ? 'B' : 'A';
    EXPECT_NE(verify(flipped, *ks), Reason::kOk);
    // A header with one more member (same alg, same kid).
    std::string header_text;
    ASSERT_TRUE(decode_base64url(token.substr(0, d1), header_text));
    Json h = Json::parse(header_text);
    h["x"] = 1;
    const std::string reheadered = b64u(h.dump()) + token.substr(d1);
    EXPECT_EQ(verify(reheadered, *ks), Reason::kBadSignature);
  }
}

TEST(AuthJwtTest, ExpiryIsRequiredAndChecked) {
  auto ks = keys({hs("HS256", kSecret)});
  auto token = [&](Json c) { return sign_hmac("HS256", kSecret, header("HS256"), c.dump()); };
  Json c = claims();
  c.erase("exp");
  EXPECT_EQ(verify(token(c), *ks), Reason::kMissingExpiry);
  c["exp"] = kNowS;  // now must be before exp
  EXPECT_EQ(verify(token(c), *ks), Reason::kExpired);
  c["exp"] = kNowS - 1;
  EXPECT_EQ(verify(token(c), *ks), Reason::kExpired);
  c["exp"] = kNowS + 1;
  EXPECT_EQ(verify(token(c), *ks), Reason::kOk);
  c["exp"] = 1700000000.5;  // fractions are NumericDates too
  EXPECT_EQ(verify(token(c), *ks), Reason::kOk);
  c["exp"] = 1699999999.999;
  EXPECT_EQ(verify(token(c), *ks), Reason::kExpired);

  JwtRules leeway;
  leeway.leeway = seconds(30);
  c["iat"] = kNowS - 3600;
  c["exp"] = kNowS - 29;
  EXPECT_EQ(verify(token(c), *ks, leeway), Reason::kOk);
  c["exp"] = kNowS - 30;
  EXPECT_EQ(verify(token(c), *ks, leeway), Reason::kExpired);
  c["exp"] = kNowS - 3600;
  EXPECT_EQ(verify(token(c), *ks, leeway), Reason::kExpired);
  // The admission ends at exp + leeway.
  c["exp"] = kNowS + 60;
  c["iat"] = kNowS;
  JwtResult r = verify_jwt(token(c), *ks, leeway, kNow);
  ASSERT_TRUE(r.jwt);
  EXPECT_EQ(r.jwt->expires, std::chrono::system_clock::time_point(seconds(kNowS + 90)));
}

TEST(AuthJwtTest, NotBeforeAndIssuedAtInTheFutureAreRefused) {
  auto ks = keys({hs("HS256", kSecret)});
  auto token = [&](Json c) { return sign_hmac("HS256", kSecret, header("HS256"), c.dump()); };
  Json c = claims();
  c["nbf"] = kNowS + 60;
  EXPECT_EQ(verify(token(c), *ks), Reason::kNotYetValid);
  c["nbf"] = kNowS;  // valid from nbf on
  EXPECT_EQ(verify(token(c), *ks), Reason::kOk);
  JwtRules leeway;
  leeway.leeway = seconds(30);
  c["nbf"] = kNowS + 30;
  EXPECT_EQ(verify(token(c), *ks, leeway), Reason::kOk);
  c["nbf"] = kNowS + 31;
  EXPECT_EQ(verify(token(c), *ks, leeway), Reason::kNotYetValid);

  c = claims();
  c["iat"] = kNowS + 45;  // issued in the future
  EXPECT_EQ(verify(token(c), *ks), Reason::kNotYetValid);
  EXPECT_EQ(verify(token(c), *ks, leeway), Reason::kNotYetValid);
  c["iat"] = kNowS + 20;
  EXPECT_EQ(verify(token(c), *ks, leeway), Reason::kOk);
  c["iat"] = kNowS + 61;  // after its own exp
  c["exp"] = kNowS + 60;
  EXPECT_EQ(verify(token(c), *ks, leeway), Reason::kMalformed);
}

TEST(AuthJwtTest, NumericClaimsThatAreNotNumbersAreRefused) {
  auto ks = keys({hs("HS256", kSecret)});
  auto token = [&](Json c) { return sign_hmac("HS256", kSecret, header("HS256"), c.dump()); };
  const std::vector<Json> bad = {std::to_string(kNowS + 60),
                                 true,
                                 nullptr,
                                 Json::array({kNowS + 60}),
                                 Json::object({{"t", kNowS + 60}}),
                                 -1,
                                 1e300,
                                 253402300800LL,
                                 18446744073709551615ULL};
  for (const char* name : {"exp", "nbf", "iat"}) {
    for (const Json& v : bad) {
      Json c = claims();
      c[name] = v;
      EXPECT_EQ(verify(token(c), *ks), Reason::kMalformed) << name << " = " << v.dump();
    }
  }
  // Non-finite and huge numbers in the JSON text itself.
  const std::string input = b64u(header("HS256")) + "." + b64u("{\"exp\":1e999,\"sub\":\"a\"}");
  EXPECT_NE(verify(input + "." + b64u(hmac_bytes("HS256", kSecret, input)), *ks), Reason::kOk);
}

TEST(AuthJwtTest, IssuerIsCheckedWhenConfigured) {
  auto ks = keys({hs("HS256", kSecret)});
  auto token = [&](Json c) { return sign_hmac("HS256", kSecret, header("HS256"), c.dump()); };
  JwtRules rules;
  rules.issuer = "https://id.example.com";
  Json c = claims();
  EXPECT_EQ(verify(token(c), *ks, rules), Reason::kWrongIssuer);  // absent
  c["iss"] = "https://evil.example.com";
  EXPECT_EQ(verify(token(c), *ks, rules), Reason::kWrongIssuer);
  c["iss"] = "https://id.example.com/";  // exact comparison
  EXPECT_EQ(verify(token(c), *ks, rules), Reason::kWrongIssuer);
  c["iss"] = Json::array({"https://id.example.com"});
  EXPECT_EQ(verify(token(c), *ks, rules), Reason::kWrongIssuer);
  c["iss"] = "https://id.example.com";
  EXPECT_EQ(verify(token(c), *ks, rules), Reason::kOk);
  EXPECT_EQ(verify(token(c), *ks), Reason::kOk);  // not configured: any issuer
}

TEST(AuthJwtTest, AudienceMatchesAStringOrAnyArrayElement) {
  auto ks = keys({hs("HS256", kSecret)});
  auto token = [&](Json c) { return sign_hmac("HS256", kSecret, header("HS256"), c.dump()); };
  JwtRules rules;
  rules.audience = {"pollbridge"};
  Json c = claims();
  EXPECT_EQ(verify(token(c), *ks, rules), Reason::kWrongAudience);  // absent
  c["aud"] = "other";
  EXPECT_EQ(verify(token(c), *ks, rules), Reason::kWrongAudience);
  c["aud"] = "pollbridge";
  EXPECT_EQ(verify(token(c), *ks, rules), Reason::kOk);
  c["aud"] = Json::array({"a", "pollbridge", "b"});
  EXPECT_EQ(verify(token(c), *ks, rules), Reason::kOk);
  c["aud"] = Json::array({"a", "b"});
  EXPECT_EQ(verify(token(c), *ks, rules), Reason::kWrongAudience);
  c["aud"] = Json::array();
  EXPECT_EQ(verify(token(c), *ks, rules), Reason::kWrongAudience);
  c["aud"] = Json::array({"pollbridge", 7});
  EXPECT_EQ(verify(token(c), *ks, rules), Reason::kMalformed);
  c["aud"] = 7;
  EXPECT_EQ(verify(token(c), *ks, rules), Reason::kMalformed);
  c["aud"] = "POLLBRIDGE";  // case-sensitive
  EXPECT_EQ(verify(token(c), *ks, rules), Reason::kWrongAudience);

  JwtRules two;
  two.audience = {"x", "y"};
  c["aud"] = Json::array({"z", "y"});
  EXPECT_EQ(verify(token(c), *ks, two), Reason::kOk);

  // RFC 7519 §4.1.3: a token for some audience is refused by a service
  // that has none configured.
  c["aud"] = "someone-else";
  EXPECT_EQ(verify(token(c), *ks), Reason::kWrongAudience);
  c.erase("aud");
  EXPECT_EQ(verify(token(c), *ks), Reason::kOk);
}

TEST(AuthJwtTest, AlgNoneIsRefusedInEveryCase) {
  auto ks = keys({hs("HS256", kSecret), pk("RS256", rsa_2048())});
  const std::string c = b64u(claims().dump());
  for (const char* alg : {"none", "None", "nOnE", "NONE"}) {
    const std::string h = b64u(Json{{"alg", alg}, {"typ", "JWT"}}.dump());
    // Unsigned (empty signature), and with some signature bytes.
    EXPECT_EQ(verify(h + "." + c + ".", *ks), Reason::kAlgNotAllowed) << alg;
    EXPECT_EQ(verify(h + "." + c, *ks), Reason::kMalformed) << alg;
    EXPECT_EQ(verify(h + "." + c + "." + b64u("x"), *ks), Reason::kAlgNotAllowed) << alg;
    EXPECT_EQ(verify(h + "." + c + "." + b64u(hmac_bytes("HS256", kSecret, h + "." + c)), *ks),
              Reason::kAlgNotAllowed)
        << alg;
  }
}

TEST(AuthJwtTest, AlgorithmNamesAreExact) {
  auto ks = keys({hs("HS256", kSecret)});
  for (const char* alg : {"hs256", "Hs256", "HS256 ", " HS256", "HS-256", "", "PS256", "ES512"}) {
    const std::string h = Json{{"alg", alg}}.dump();
    EXPECT_EQ(verify(sign_hmac("HS256", kSecret, h, claims().dump()), *ks), Reason::kAlgNotAllowed)
        << "[" << alg << "]";
  }
  for (const Json& alg : {Json(1), Json(nullptr), Json::array({"HS256"})}) {
    const std::string h = Json{{"alg", alg}}.dump();
    EXPECT_EQ(verify(sign_hmac("HS256", kSecret, h, claims().dump()), *ks), Reason::kMalformed);
  }
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, "{\"typ\":\"JWT\"}", claims().dump()), *ks),
            Reason::kMalformed);
}

// The classic confusion: the server has an RSA public key; the attacker
// signs HS256 with the PEM text of that public key as the HMAC secret.
TEST(AuthJwtTest, Hs256KeyedWithTheRsaPublicKeyIsRefused) {
  const std::string pem = public_pem(rsa_2048());
  auto ks = keys({pk("RS256", rsa_2048())});
  EXPECT_EQ(verify(sign_hmac("HS256", pem, header("HS256"), claims().dump()), *ks),
            Reason::kAlgNotAllowed);
  auto with_kid = keys({pk("RS256", rsa_2048(), "idp")});
  EXPECT_EQ(verify(sign_hmac("HS256", pem, header("HS256", "idp"), claims().dump()), *with_kid),
            Reason::kAlgNotAllowed);
  // The same with an EC key, and with the PEM's DER body as the secret.
  const std::string ec_pem = public_pem(ec_p256());
  auto ec = keys({pk("ES256", ec_p256())});
  EXPECT_EQ(verify(sign_hmac("HS256", ec_pem, header("HS256"), claims().dump()), *ec),
            Reason::kAlgNotAllowed);
  // And the reverse: an RS256 header against an HMAC key.
  auto hs_only = keys({hs("HS256", kSecret)});
  EXPECT_EQ(verify(sign_with_key("RS256", rsa_2048(), header("RS256"), claims().dump()), *hs_only),
            Reason::kAlgNotAllowed);
}

TEST(AuthJwtTest, KidThatNamesAnotherAlgorithmsKeyIsRefused) {
  auto ks =
      keys({hs("HS256", kSecret, "h"), pk("RS256", rsa_2048(), "r"), pk("ES256", ec_p256(), "e")});
  const std::string c = claims().dump();
  EXPECT_EQ(verify(sign_with_key("RS256", rsa_2048(), header("RS256", "h"), c), *ks),
            Reason::kAlgNotAllowed);
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, header("HS256", "r"), c), *ks),
            Reason::kAlgNotAllowed);
  EXPECT_EQ(verify(sign_with_key("ES256", ec_p256(), header("ES256", "r"), c), *ks),
            Reason::kAlgNotAllowed);
  // With its own kid each is fine.
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, header("HS256", "h"), c), *ks), Reason::kOk);
  EXPECT_EQ(verify(sign_with_key("RS256", rsa_2048(), header("RS256", "r"), c), *ks), Reason::kOk);
  EXPECT_EQ(verify(sign_with_key("ES256", ec_p256(), header("ES256", "e"), c), *ks), Reason::kOk);
}

TEST(AuthJwtTest, KidPicksTheKeyAndOnlyThatKey) {
  auto ks = keys({hs("HS256", kSecret, "a"), hs("HS256", kSecret2, "b")});
  const std::string c = claims().dump();
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret2, header("HS256", "b"), c), *ks), Reason::kOk);
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, header("HS256", "a"), c), *ks), Reason::kOk);
  // Signed with b's secret but naming a: a alone is tried.
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret2, header("HS256", "a"), c), *ks),
            Reason::kBadSignature);
  // No kid, or an unknown one: only keys without a kid would be tried.
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, header("HS256"), c), *ks), Reason::kUnknownKey);
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, header("HS256", "zz"), c), *ks),
            Reason::kUnknownKey);
  // A kid that is not a string.
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, R"({"alg":"HS256","kid":1})", c), *ks),
            Reason::kMalformed);
}

TEST(AuthJwtTest, KeysWithoutKidAreTriedInOrder) {
  auto ks = keys({hs("HS256", kSecret), hs("HS256", kSecret2), pk("RS256", rsa_2048())});
  const std::string c = claims().dump();
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, header("HS256"), c), *ks), Reason::kOk);
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret2, header("HS256"), c), *ks), Reason::kOk);
  // A kid that names no key falls back to the keys without a kid.
  JwtResult r =
      verify_jwt(sign_hmac("HS256", kSecret2, header("HS256", "rotated"), c), *ks, {}, kNow);
  EXPECT_EQ(r.reason, Reason::kOk);
  EXPECT_EQ(verify(sign_with_key("RS256", rsa_2048(), header("RS256"), c), *ks), Reason::kOk);
  EXPECT_EQ(verify(sign_hmac("HS256", std::string(32, 'z'), header("HS256"), c), *ks),
            Reason::kBadSignature);
}

TEST(AuthJwtTest, OversizeTokensAndPartsAreRefusedBeforeDecoding) {
  auto ks = keys({hs("HS256", kSecret)});
  Json c = claims();
  c["pad"] = std::string(kMaxTokenBytes, 'x');
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, header("HS256"), c.dump()), *ks), Reason::kTooLarge);
  // Just under the cap is fine.
  c["pad"] = std::string(5000, 'x');
  const std::string ok = sign_hmac("HS256", kSecret, header("HS256"), c.dump());
  ASSERT_LE(ok.size(), kMaxTokenBytes);
  EXPECT_EQ(verify(ok, *ks), Reason::kOk);
  Json h = {{"alg", "HS256"}, {"x", std::string(kMaxHeaderChars, 'h')}};
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, h.dump(), claims().dump()), *ks), Reason::kTooLarge);
  const std::string input = b64u(header("HS256")) + "." + b64u(claims().dump());
  EXPECT_EQ(verify(input + "." + std::string(kMaxSignatureChars + 1, 'A'), *ks), Reason::kTooLarge);
  EXPECT_EQ(verify(std::string(1 << 20, 'A'), *ks), Reason::kTooLarge);
}

TEST(AuthJwtTest, OnlyStrictBase64UrlIsAccepted) {
  auto ks = keys({hs("HS256", kSecret)});
  const std::string token = sign_hmac("HS256", kSecret, header("HS256"), claims().dump());
  ASSERT_EQ(verify(token, *ks), Reason::kOk);
  const auto d1 = token.find('.');
  const auto d2 = token.find('.', d1 + 1);
  std::vector<std::string> bad;
  const std::size_t part_lengths[] = {d1, d2 - d1 - 1, token.size() - d2 - 1};
  const std::size_t ends[] = {d1, d2, token.size()};
  for (int i = 0; i < 3; ++i) {
    const std::size_t at = ends[i];
    bad.push_back(token.substr(0, at) + "=" + token.substr(at));   // padding
    bad.push_back(token.substr(0, at) + "==" + token.substr(at));  // padding
    bad.push_back(token.substr(0, at) + " " + token.substr(at));   // whitespace
    bad.push_back(token.substr(0, at) + "\n" + token.substr(at));
    bad.push_back(token.substr(0, at) + "*" + token.substr(at));  // outside the alphabet
    // Padded with 'A's to 4n+1 characters: six bits cannot end a byte.
    const std::size_t extra = (4 + 1 - part_lengths[i] % 4) % 4;
    bad.push_back(token.substr(0, at) + std::string(extra == 0 ? 4 : extra, 'A') +
                  token.substr(at));
  }
  std::string plus = token;
  plus[d1 + 1] = '+';
  bad.push_back(plus);
  std::string slash = token;
  slash[d2 + 2] = '/';
  bad.push_back(slash);
  // The signature (32 bytes: 43 characters, the last carrying 2 unused
  // bits): a different last character with the same 4 data bits decodes to
  // the same bytes in lenient decoders.
  {
    static const std::string kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string sig = token.substr(d2 + 1);
    ASSERT_EQ(sig.size(), 43u);
    const auto v = kAlphabet.find(sig.back());
    std::string t = token;
    t.back() = kAlphabet[(v & ~3u) | 1u];
    bad.push_back(t);
  }
  // Standard base64 of the header (with padding) instead of base64url.
  for (const auto& b : bad) {
    EXPECT_NE(verify(b, *ks), Reason::kOk) << b;
    EXPECT_EQ(verify(b, *ks), Reason::kMalformed) << b;
  }
}

TEST(AuthJwtTest, OnlyCompactJwsWithThreeNonEmptyPartsIsAccepted) {
  auto ks = keys({hs("HS256", kSecret)});
  const std::string token = sign_hmac("HS256", kSecret, header("HS256"), claims().dump());
  const auto d1 = token.find('.');
  const auto d2 = token.find('.', d1 + 1);
  const std::string h = token.substr(0, d1);
  const std::string p = token.substr(d1 + 1, d2 - d1 - 1);
  const std::string s = token.substr(d2 + 1);
  for (const std::string& b : {h, h + "." + p, h + "." + p + ".", h + "." + p + "." + s + ".",
                               h + "." + p + "." + s + "." + s,
                               h + "." + p + "." + s + "." + s + "." + s,  // JWE shape
                               "." + p + "." + s, h + ".." + s, std::string(".."), std::string(""),
                               h + "." + p + "." + s + "\n"}) {
    EXPECT_EQ(verify(b, *ks), Reason::kMalformed) << b;
  }
  // RFC 7797 detached payload: the middle part empty, signed over the payload.
  EXPECT_EQ(verify(h + ".." + s, *ks), Reason::kMalformed);
}

TEST(AuthJwtTest, DuplicateMembersAreRefusedInHeaderAndPayload) {
  auto ks = keys({hs("HS256", kSecret)});
  const std::string c = claims().dump();
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, R"({"alg":"HS256","alg":"HS256"})", c), *ks),
            Reason::kMalformed);
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, R"({"alg":"none","alg":"HS256"})", c), *ks),
            Reason::kMalformed);
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, R"({"alg":"HS256","kid":"a","kid":"b"})", c), *ks),
            Reason::kMalformed);
  const std::string exp = std::to_string(kNowS + 60);
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, header("HS256"),
                             R"({"sub":"alice","sub":"admin","exp":)" + exp + "}"),
                   *ks),
            Reason::kMalformed);
  EXPECT_EQ(
      verify(sign_hmac("HS256", kSecret, header("HS256"), R"({"exp":1,"exp":)" + exp + "}"), *ks),
      Reason::kMalformed);
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, header("HS256"),
                             R"({"x":{"a":1,"a":2},"exp":)" + exp + "}"),
                   *ks),
            Reason::kMalformed);
  // The same names in different objects are not duplicates.
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, header("HS256"),
                             R"({"x":{"exp":1},"y":[{"exp":2},{"exp":3}],"exp":)" + exp + "}"),
                   *ks),
            Reason::kOk);
}

TEST(AuthJwtTest, HeaderParametersThatChangeProcessingAreRefused) {
  auto ks = keys({hs("HS256", kSecret)});
  const std::string c = claims().dump();
  for (const char* h :
       {R"({"alg":"HS256","crit":["exp"]})", R"({"alg":"HS256","crit":[]})",
        R"({"alg":"HS256","b64":false,"crit":["b64"]})", R"({"alg":"HS256","b64":true})",
        R"({"alg":"HS256","zip":"DEF"})", R"({"alg":"HS256","enc":"A128GCM"})",
        R"({"alg":"HS256","cty":"JWT"})", R"({"alg":"HS256","typ":"secevent+jwt"})",
        R"({"alg":"HS256","typ":"dpop+jwt"})"}) {
    EXPECT_EQ(verify(sign_hmac("HS256", kSecret, h, c), *ks), Reason::kUnsupportedHeader) << h;
  }
  for (const char* h : {R"({"alg":"HS256","typ":"JWT"})", R"({"alg":"HS256","typ":"jwt"})",
                        R"({"alg":"HS256","typ":"at+jwt"})",
                        R"({"alg":"HS256","typ":"application/at+JWT"})", R"({"alg":"HS256"})",
                        // Key-carrying parameters are ignored, never used.
                        R"({"alg":"HS256","jku":"https://evil.example/keys"})",
                        R"({"alg":"HS256","jwk":{"kty":"oct","k":"AAAA"}})"}) {
    EXPECT_EQ(verify(sign_hmac("HS256", kSecret, h, c), *ks), Reason::kOk) << h;
  }
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, R"({"alg":"HS256","typ":1})", c), *ks),
            Reason::kMalformed);
}

TEST(AuthJwtTest, HeaderAndPayloadMustBeJsonObjects) {
  auto ks = keys({hs("HS256", kSecret)});
  const std::string exp = std::to_string(kNowS + 60);
  const std::string c = claims().dump();
  for (const std::string& h :
       {std::string("[\"HS256\"]"), std::string("\"HS256\""), std::string("{\"alg\":\"HS256\"}x"),
        std::string("{\"alg\":\"HS256\",}"), std::string("{\"alg\":\"HS256\"/*c*/}"),
        std::string("{\"alg\":\"HS\xff\"}")}) {
    EXPECT_EQ(verify(sign_hmac("HS256", kSecret, h, c), *ks), Reason::kMalformed) << h;
  }
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += "}";
  for (const std::string& p :
       {std::string("[1]"), std::string("null"),
        std::string("{\"exp\":") + exp + ",\"s\":\"\xc3\"}",
        std::string("{\"exp\":") + exp + ",\"d\":" + deep + "}", std::string("{\"exp\":") + exp}) {
    EXPECT_EQ(verify(sign_hmac("HS256", kSecret, header("HS256"), p), *ks), Reason::kMalformed)
        << p;
  }
  // sub must be a string.
  Json bad_sub = claims();
  bad_sub["sub"] = 42;
  EXPECT_EQ(verify(sign_hmac("HS256", kSecret, header("HS256"), bad_sub.dump()), *ks),
            Reason::kMalformed);
}

TEST(AuthJwtTest, EcdsaSignaturesMustBeRawRAndSOfTheCurveSize) {
  auto ks = keys({pk("ES256", ec_p256())});
  const std::string input = b64u(header("ES256")) + "." + b64u(claims().dump());
  const std::string raw = key_signature_bytes("ES256", ec_p256(), input);
  ASSERT_EQ(raw.size(), 64u);
  EXPECT_EQ(verify(input + "." + b64u(raw), *ks), Reason::kOk);
  EXPECT_EQ(verify(input + "." + b64u(raw.substr(1)), *ks), Reason::kBadSignature);
  EXPECT_EQ(verify(input + "." + b64u(raw + std::string(1, '\0')), *ks), Reason::kBadSignature);
  EXPECT_EQ(verify(input + "." + b64u(std::string(64, '\0')), *ks), Reason::kBadSignature);
  // A DER signature (what OpenSSL produces natively) is not a JWS signature.
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, ec_p256().get());
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string der(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(ctx);
  der.resize(len);
  EXPECT_EQ(verify(input + "." + b64u(der), *ks), Reason::kBadSignature);
  // An ES384-sized signature under an ES256 key.
  EXPECT_EQ(verify(input + "." + b64u(std::string(96, '\1')), *ks), Reason::kBadSignature);
}

TEST(AuthJwtTest, RsaSignaturesMustHaveTheModulusLength) {
  auto ks = keys({pk("RS256", rsa_2048())});
  const std::string input = b64u(header("RS256")) + "." + b64u(claims().dump());
  const std::string sig = key_signature_bytes("RS256", rsa_2048(), input);
  ASSERT_EQ(sig.size(), 256u);
  EXPECT_EQ(verify(input + "." + b64u(sig), *ks), Reason::kOk);
  EXPECT_EQ(verify(input + "." + b64u(sig.substr(1)), *ks), Reason::kBadSignature);
  EXPECT_EQ(verify(input + "." + b64u(std::string(1, '\0') + sig), *ks), Reason::kBadSignature);
  // RS384 signature presented as RS256.
  const std::string sig384 = key_signature_bytes("RS384", rsa_2048(), input);
  EXPECT_EQ(verify(input + "." + b64u(sig384), *ks), Reason::kBadSignature);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::auth
