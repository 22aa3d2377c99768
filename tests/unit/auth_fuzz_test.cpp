// A bounded random-input test of the token parser and verifier: mutations
// of valid tokens (HS256, RS256, ES256, signed by OpenSSL) and random
// strings, none of which may ever be accepted, and none of which may crash
// (the suite runs under ASan+UBSan too). Also random requests through the
// credential parser and query stripping.
//
// PB_AUTH_FUZZ_ITERATIONS changes the count (default 200000);
// PB_AUTH_FUZZ_SEED the seed (default fixed, so a failure reproduces).
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "auth/credential_source.h"
#include "auth/jwt_verifier.h"
#include "auth/key_set.h"
#include "support/auth_print.h"
#include "support/file_local.h"
#include "support/jwt_forge.h"

namespace pb::auth {
namespace PB_FILE_LOCAL {

using namespace pb::testing;
using std::chrono::seconds;
using namespace std::string_literals;

const auto kNow = std::chrono::system_clock::time_point(seconds(1'700'000'000));
const std::string kSecret = "0123456789abcdef0123456789abcdef";

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

std::string mutate(std::string t, std::mt19937_64& rng, const std::vector<std::string>& pool) {
  static const std::string kChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \"{}:,\\\x00\xff"s;
  auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
  const int rounds = 1 + static_cast<int>(rng() % 3);
  for (int r = 0; r < rounds; ++r) {
    switch (rng() % 9) {
      case 0:  // flip a bit
        if (!t.empty()) t[pick(t.size())] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:  // replace with a likely character
        if (!t.empty()) t[pick(t.size())] = kChars[pick(kChars.size())];
        break;
      case 2:  // insert
        t.insert(t.begin() + static_cast<long>(pick(t.size() + 1)), kChars[pick(kChars.size())]);
        break;
      case 3:  // delete a range
        if (!t.empty()) {
          const std::size_t at = pick(t.size());
          t.erase(at, 1 + pick(std::min<std::size_t>(8, t.size() - at)));
        }
        break;
      case 4:  // truncate
        t.resize(pick(t.size() + 1));
        break;
      case 5: {  // splice a part of another token
        const std::string& o = pool[pick(pool.size())];
        const std::size_t from = pick(o.size());
        t.insert(pick(t.size() + 1), o.substr(from, 1 + pick(o.size() - from)));
        break;
      }
      case 6: {  // swap one dot-separated part with another token's
        const std::string& o = pool[pick(pool.size())];
        const auto a = t.find('.');
        const auto b = o.find('.');
        if (a != std::string::npos && b != std::string::npos) t = o.substr(0, b) + t.substr(a);
        break;
      }
      case 7:  // duplicate a range
        if (!t.empty()) {
          const std::size_t at = pick(t.size());
          t.insert(at, t.substr(at, 1 + pick(16)));
        }
        break;
      default:  // add or drop a dot
        if (rng() % 2 && !t.empty()) {
          t[pick(t.size())] = '.';
        } else {
          const auto d = t.find('.');
          if (d != std::string::npos) t.erase(d, 1);
        }
        break;
    }
  }
  return t;
}

TEST(AuthFuzzTest, MutatedAndRandomTokensAreNeverAccepted) {
  const std::uint64_t iterations = env_number("PB_AUTH_FUZZ_ITERATIONS", 200000);
  const std::uint64_t seed = env_number("PB_AUTH_FUZZ_SEED", 20260301);
  config::JwtConfig cfg;
  config::JwtKeyConfig hs;
  hs.alg = "HS256";
  hs.material = kSecret;
  hs.where = "fuzz";
  config::JwtKeyConfig rs;
  rs.alg = "RS256";
  rs.kid = "r";
  rs.material = public_pem(rsa_2048());
  rs.where = "fuzz";
  config::JwtKeyConfig es;
  es.alg = "ES256";
  es.kid = "e";
  es.material = public_pem(ec_p256());
  es.where = "fuzz";
  cfg.keys = {hs, rs, es};
  auto keys = KeySet::from_config(cfg);
  JwtRules rules;
  rules.issuer = "https://id.example.com";
  rules.audience = {"pollbridge"};
  rules.leeway = seconds(30);

  const nlohmann::json claims = {{"sub", "42"},
                                 {"iss", "https://id.example.com"},
                                 {"aud", nlohmann::json::array({"pollbridge", "x"})},
                                 {"exp", 1'700'000'600},
                                 {"nbf", 1'699'999'000},
                                 {"streams", nlohmann::json::array({"orders", "customer/*"})}};
  const std::vector<std::string> valid = {
      sign_hmac("HS256", kSecret, R"({"alg":"HS256","typ":"JWT"})", claims.dump()),
      sign_with_key("RS256", rsa_2048(), R"({"alg":"RS256","kid":"r"})", claims.dump()),
      sign_with_key("ES256", ec_p256(), R"({"alg":"ES256","kid":"e"})", claims.dump()),
  };
  for (const auto& t : valid) ASSERT_EQ(verify_jwt(t, *keys, rules, kNow).reason, Reason::kOk);

  std::mt19937_64 rng(seed);
  std::uint64_t ran = 0;
  std::uint64_t reached_signature = 0;
  std::array<std::uint64_t, kReasonCount> by_reason{};
  for (std::uint64_t i = 0; i < iterations; ++i) {
    std::string input;
    const std::uint64_t kind = rng() % 100;
    const std::string& base = valid[kind < 70 ? 0 : kind < 85 ? 1 : 2];
    if (kind % 20 == 19) {
      input.resize(rng() % 200);
      for (char& c : input) c = static_cast<char>(rng());
    } else {
      input = mutate(base, rng, valid);
    }
    const JwtResult r = verify_jwt(input, *keys, rules, kNow);
    ++ran;
    ++by_reason[static_cast<std::size_t>(r.reason)];
    if (r.reason == Reason::kBadSignature) ++reached_signature;
    const bool unchanged = std::find(valid.begin(), valid.end(), input) != valid.end();
    if (!unchanged) {
      ASSERT_NE(r.reason, Reason::kOk)
          << "accepted a mutated token (seed " << seed << ", iteration " << i << "): " << input;
      ASSERT_FALSE(r.jwt);
    }
  }
  std::cout << "[ auth fuzz ] " << ran << " token inputs (seed " << seed << "), "
            << reached_signature << " reached signature verification;";
  for (std::size_t i = 0; i < kReasonCount; ++i) {
    if (by_reason[i] != 0)
      std::cout << ' ' << reason_name(static_cast<Reason>(i)) << '=' << by_reason[i];
  }
  std::cout << '\n';
  RecordProperty("token_inputs", static_cast<int>(ran));
  EXPECT_EQ(ran, iterations);
  // The mutations must exercise the deep paths, not only the size and shape checks.
  EXPECT_GT(reached_signature, iterations / 20);
}

TEST(AuthFuzzTest, RandomRequestsNeverCrashTheCredentialParser) {
  const std::uint64_t iterations = env_number("PB_AUTH_FUZZ_ITERATIONS", 200000) / 4;
  std::mt19937_64 rng(env_number("PB_AUTH_FUZZ_SEED", 20260301));
  static const std::string kChars = "ab=;, \t\"%+&?Bearer_token.5Fxz\x00\xff"s;
  auto random_text = [&](std::size_t max) {
    std::string s(rng() % max, ' ');
    for (char& c : s) c = kChars[rng() % kChars.size()];
    return s;
  };
  for (std::uint64_t i = 0; i < iterations; ++i) {
    std::string target = "/events?" + random_text(80);
    const std::string before = target;
    auto values = strip_query_param(target, "access_token");
    // What was removed is gone; nothing else is touched when nothing matched.
    if (values.empty()) {
      ASSERT_EQ(target, before);
    }
    std::string again = target;
    ASSERT_TRUE(strip_query_param(again, "access_token").empty()) << before;
    std::vector<std::pair<std::string, std::string>> fields = {
        {"Authorization", (rng() % 2 ? "Bearer " : "") + random_text(40)},
        {"Cookie", random_text(60)}};
    RequestView v;
    for (const auto& [n, val] : fields) v.headers.emplace_back(n, val);
    v.query_tokens = values;
    Credential c = find_credential(v, "token");
    if (c.reason != Reason::kOk) {
      ASSERT_TRUE(c.token.empty());
    }
    (void)strip_cookie(fields[1].second, "token");
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::auth
