// Times taken from tokens (src/auth/token_time.h): an exp after year 2262
// (what a nanosecond system_clock holds) is clamped, never overflowed, from
// the verified token down to the session's close_at.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "auth/jwt_verifier.h"
#include "auth/key_set.h"
#include "auth/token_time.h"
#include "support/file_local.h"
#include "support/jwt_forge.h"

namespace pb::auth {
namespace PB_FILE_LOCAL {

using namespace pb::testing;
using std::chrono::seconds;
using Sys = std::chrono::system_clock;
using Steady = std::chrono::steady_clock;

const auto kNow = Sys::time_point(seconds(1'700'000'000));
const std::string kSecret = "0123456789abcdef0123456789abcdef";

std::shared_ptr<const KeySet> hs_keys() {
  config::JwtKeyConfig k;
  k.alg = "HS256";
  k.material = kSecret;
  k.where = "test";
  config::JwtConfig cfg;
  cfg.keys = {k};
  return KeySet::from_config(cfg);
}

std::string token(const nlohmann::json& claims) {
  return sign_hmac("HS256", kSecret, R"({"alg":"HS256","typ":"JWT"})", claims.dump());
}

TEST(AuthTokenTimeTest, MillisecondsSaturateAtWhatTheClockHolds) {
  EXPECT_EQ(system_time_from_ms(1'700'000'000'000), kNow);
  EXPECT_EQ(system_time_from_ms(0), Sys::time_point());
  // Year 9999 (kMaxNumericDate) and beyond: the clock's end, not a wrap.
  EXPECT_EQ(system_time_from_ms(kMaxNumericDate * 1000), Sys::time_point::max());
  EXPECT_EQ(system_time_from_ms(INT64_MAX), Sys::time_point::max());
  EXPECT_EQ(system_time_from_ms(INT64_MIN), Sys::time_point::min());
  // Year 2200 still fits: exact.
  const std::int64_t y2200 = 7'258'118'400'000;
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(
                system_time_from_ms(y2200).time_since_epoch())
                .count(),
            y2200);
}

TEST(AuthTokenTimeTest, DeadlinesSaturateAndPastOnesAreDueNow) {
  const auto steady = Steady::now();
  EXPECT_EQ(steady_deadline(kNow + seconds(30), kNow, steady), steady + seconds(30));
  EXPECT_EQ(steady_deadline(kNow, kNow, steady), steady);
  EXPECT_EQ(steady_deadline(kNow - seconds(30), kNow, steady), steady);
  EXPECT_EQ(steady_deadline(Sys::time_point::min(), kNow, steady), steady);
  EXPECT_EQ(steady_deadline(Sys::time_point::max(), kNow, steady), Steady::time_point::max());
  // Far, but within the system clock: past what the steady clock has left.
  EXPECT_EQ(steady_deadline(Sys::time_point::max() - seconds(1), Sys::time_point(), steady),
            Steady::time_point::max());
  // A `now` before the epoch does not overflow the difference either.
  EXPECT_EQ(steady_deadline(Sys::time_point::max() - seconds(1), Sys::time_point::min(), steady),
            Steady::time_point::max());
}

TEST(AuthTokenTimeTest, AnExpInYear9999IsValidAndNeverDue) {
  auto ks = hs_keys();
  nlohmann::json c = {{"sub", "alice"}, {"iat", 1'699'999'990}, {"exp", kMaxNumericDate}};
  JwtRules rules;
  rules.leeway = std::chrono::minutes(5);  // the largest leeway on top
  JwtResult r = verify_jwt(token(c), *ks, rules, kNow);
  ASSERT_EQ(r.reason, Reason::kOk);
  ASSERT_TRUE(r.jwt);
  // Before the clamp this wrapped to a time in 1816: closed at once.
  EXPECT_EQ(r.jwt->expires, Sys::time_point::max());
  EXPECT_EQ(steady_deadline(r.jwt->expires, kNow, Steady::now()), Steady::time_point::max());
  // Fractions up there too, and exp in 2263 (just past the clock's end).
  c["exp"] = 253402300798.5;
  r = verify_jwt(token(c), *ks, {}, kNow);
  ASSERT_EQ(r.reason, Reason::kOk);
  EXPECT_EQ(r.jwt->expires, Sys::time_point::max());
  c["exp"] = 9'300'000'000LL;
  r = verify_jwt(token(c), *ks, {}, kNow);
  ASSERT_EQ(r.reason, Reason::kOk);
  EXPECT_GT(r.jwt->expires, kNow);
  // nbf and iat that far ahead are not yet valid; none overflows.
  c["nbf"] = kMaxNumericDate;
  EXPECT_EQ(verify_jwt(token(c), *ks, {}, kNow).reason, Reason::kNotYetValid);
  c.erase("nbf");
  c["exp"] = kMaxNumericDate;
  c["iat"] = kMaxNumericDate;
  EXPECT_EQ(verify_jwt(token(c), *ks, {}, kNow).reason, Reason::kNotYetValid);
  // Zero and huge negative dates are refused, not wrapped.
  c.erase("iat");
  c["exp"] = 0;
  EXPECT_EQ(verify_jwt(token(c), *ks, {}, kNow).reason, Reason::kExpired);
  c["exp"] = -9'000'000'000'000'000'000LL;
  EXPECT_EQ(verify_jwt(token(c), *ks, {}, kNow).reason, Reason::kMalformed);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::auth
