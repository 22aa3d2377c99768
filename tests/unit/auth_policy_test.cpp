// The access decision (src/auth/policy.h): one answer for /events, the
// multiplexed /events and /streams/{name}, with the exact status each
// refusal must get and nothing of the token in what is answered.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auth/failure_counters.h"
#include "auth/policy.h"
#include "auth/policy_holder.h"
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
const std::string kSecret = "0123456789abcdef0123456789abcdef";
const std::string kStatic = "static-read-token-0123456789";

config::AuthConfig auth_config() {
  config::AuthConfig a;
  a.enabled = true;
  config::JwtKeyConfig k;
  k.alg = "HS256";
  k.material = kSecret;
  k.where = "test";
  a.jwt.keys.push_back(k);
  config::JwtKeyConfig r;
  r.alg = "RS256";
  r.kid = "idp";
  r.material = public_pem(rsa_2048());
  r.file = "idp.pem";
  r.where = "test";
  a.jwt.keys.push_back(r);
  a.jwt.issuer = "https://id.example.com";
  a.jwt.audience = {"pollbridge"};
  a.jwt.leeway = seconds(30);
  a.tokens = {kStatic};
  a.cookie = "pb_token";
  a.query_param = "access_token";
  return a;
}

Json claims(Json streams) {
  return Json{{"sub", "42"},         {"iss", "https://id.example.com"},
              {"aud", "pollbridge"}, {"exp", kNowS + 120},
              {"iat", kNowS - 5},    {"streams", streams}};
}

std::string token(const Json& c) {
  return sign_hmac("HS256", kSecret, R"({"alg":"HS256","typ":"JWT"})", c.dump());
}

config::StreamConfig stream(const std::string& name, config::AuthMode mode) {
  config::StreamConfig s;
  s.name = name;
  s.auth.mode = mode;
  return s;
}

class AuthPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = Policy::from_config(auth_config());
    orders_ = stream("orders", config::AuthMode::kRequired);
    board_ = stream("board", config::AuthMode::kNone);
    customer_ = stream("customer", config::AuthMode::kRequired);
    customer_.auth.bind = {{"customer", "sub"}};
    mine_ = stream("mine", config::AuthMode::kUpstream);
    mine_.auth.forward_headers = {"Cookie"};
  }

  Target target(const std::string& address, const config::StreamConfig* s,
                std::map<std::string, std::string> values = {}) {
    return Target{address, s, std::move(values)};
  }

  Decision check(std::vector<std::pair<std::string, std::string>> headers,
                 std::vector<Target> targets, std::vector<std::string> query = {}) {
    headers_ = std::move(headers);
    RequestView v;
    for (const auto& [n, val] : headers_) v.headers.emplace_back(n, val);
    v.query_tokens = std::move(query);
    return policy_->check(v, targets, kNow);
  }

  static std::pair<std::string, std::string> bearer(const std::string& t) {
    return {"Authorization", "Bearer " + t};
  }

  std::shared_ptr<const Policy> policy_;
  config::StreamConfig orders_, board_, customer_, mine_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

TEST_F(AuthPolicyTest, NoCredentialIs401WithAPlainChallenge) {
  Decision d = check({}, {target("orders", &orders_)});
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(d.reason, Reason::kMissing);
  EXPECT_EQ(d.www_authenticate, "Bearer realm=\"pollbridge\"");
  EXPECT_FALSE(d.principal);
}

TEST_F(AuthPolicyTest, AValidTokenCoveringTheStreamIsAdmitted) {
  const std::string t = token(claims(Json::array({"orders"})));
  for (auto d : {check({bearer(t)}, {target("orders", &orders_)}),
                 check({{"Cookie", "x=1; pb_token=" + t}}, {target("orders", &orders_)}),
                 check({}, {target("orders", &orders_)}, {t})}) {
    EXPECT_EQ(d.status, 200) << reason_name(d.reason);
    ASSERT_TRUE(d.principal);
    EXPECT_EQ(d.principal->subject, "42");
    EXPECT_EQ(d.principal->kind, Principal::Kind::kJwt);
    ASSERT_TRUE(d.expires);
    EXPECT_EQ(*d.expires, std::chrono::system_clock::time_point(seconds(kNowS + 150)));
    EXPECT_TRUE(d.www_authenticate.empty());
  }
}

TEST_F(AuthPolicyTest, InvalidTokensAre401InvalidTokenWithoutEchoingTheToken) {
  Json expired = claims(Json::array({"orders"}));
  expired["exp"] = kNowS - 60;
  expired["iat"] = kNowS - 600;
  Json early = claims(Json::array({"orders"}));
  early["nbf"] = kNowS + 3600;
  Json issuer = claims(Json::array({"orders"}));
  issuer["iss"] = "https://evil.example.com";
  Json audience = claims(Json::array({"orders"}));
  audience["aud"] = Json::array({"other", "another"});
  const std::string good = token(claims(Json::array({"orders"})));
  std::string tampered = good;
  tampered[good.find('.') + 5] = tampered[good.find('.') + 5] == 'a' ? 'b' : 'a';
  const std::string none =
      "eyJhbGciOiJub25lIn0." + good.substr(good.find('.') + 1, good.rfind('.') - good.find('.'));
  struct Case {
    std::string token;
    Reason reason;
  };
  const std::vector<Case> cases = {
      {token(expired), Reason::kExpired},
      {token(early), Reason::kNotYetValid},
      {token(issuer), Reason::kWrongIssuer},
      {token(audience), Reason::kWrongAudience},
      {tampered, Reason::kBadSignature},
      {none + "c2ln", Reason::kAlgNotAllowed},
      {sign_hmac("HS256", public_pem(rsa_2048()), R"({"alg":"HS256","kid":"idp"})",
                 claims(Json::array({"orders"})).dump()),
       Reason::kAlgNotAllowed},
      {"not-a-jwt-and-not-a-static-token", Reason::kUnknownToken},
      {"a.b.c", Reason::kMalformed},
  };
  for (const auto& c : cases) {
    Decision d = check({bearer(c.token)}, {target("orders", &orders_)});
    EXPECT_EQ(d.status, 401) << reason_name(c.reason);
    EXPECT_EQ(d.reason, c.reason) << reason_name(d.reason);
    EXPECT_EQ(d.www_authenticate.rfind("Bearer realm=\"pollbridge\", error=\"invalid_token\", "
                                       "error_description=\"",
                                       0),
              0u)
        << d.www_authenticate;
    EXPECT_EQ(d.www_authenticate.find(c.token), std::string::npos);
    EXPECT_EQ(d.message.find(c.token), std::string::npos);
    EXPECT_FALSE(d.principal);
  }
}

TEST_F(AuthPolicyTest, ATokenForStreamAIsRefusedOnStreamB) {
  const std::string t = token(claims(Json::array({"orders"})));
  config::StreamConfig other = stream("other", config::AuthMode::kRequired);
  Decision d = check({bearer(t)}, {target("other", &other)});
  EXPECT_EQ(d.status, 403);
  EXPECT_EQ(d.reason, Reason::kForbiddenStream);
  EXPECT_NE(d.www_authenticate.find("error=\"insufficient_scope\""), std::string::npos);
  EXPECT_EQ(d.www_authenticate.find(t), std::string::npos);
  EXPECT_FALSE(d.principal);  // nothing of a refused request is handed on
}

TEST_F(AuthPolicyTest, OneForbiddenStreamRefusesTheWholeMultiplexedRequest) {
  const std::string t = token(claims(Json::array({"orders", "board"})));
  config::StreamConfig other = stream("other", config::AuthMode::kRequired);
  Decision d = check(
      {bearer(t)}, {target("orders", &orders_), target("other", &other), target("board", &board_)});
  EXPECT_EQ(d.status, 403);
  EXPECT_TRUE(d.upstream.empty());
  d = check({bearer(t)}, {target("orders", &orders_), target("board", &board_)});
  EXPECT_EQ(d.status, 200);
  // Missing credentials (401) win over a forbidden stream (403).
  d = check({}, {target("board", &board_), target("other", &other)});
  EXPECT_EQ(d.status, 401);
}

TEST_F(AuthPolicyTest, PatternsInTheStreamsClaimCoverParameterizedAddresses) {
  config::StreamConfig c = stream("customer", config::AuthMode::kRequired);
  const std::string t = token(claims(Json::array({"customer/*"})));
  EXPECT_EQ(check({bearer(t)}, {target("customer/42", &c)}).status, 200);
  EXPECT_EQ(check({bearer(t)}, {target("customer/42/x", &c)}).status, 403);
  EXPECT_EQ(check({bearer(t)}, {target("customer", &c)}).status, 403);
  const std::string space = token(claims("orders customer/7"));
  EXPECT_EQ(check({bearer(space)}, {target("customer/7", &c), target("orders", &orders_)}).status,
            200);
  EXPECT_EQ(check({bearer(space)}, {target("customer/8", &c)}).status, 403);
  const std::string none_granted = token(claims(nullptr));
  EXPECT_EQ(check({bearer(none_granted)}, {target("orders", &orders_)}).status, 403);
  Json absent = claims(nullptr);
  absent.erase("streams");
  EXPECT_EQ(check({bearer(token(absent))}, {target("orders", &orders_)}).status, 403);
}

TEST_F(AuthPolicyTest, BoundParametersMustEqualTheirClaim) {
  const std::string t = token(claims(Json::array({"customer/*"})));  // sub 42
  EXPECT_EQ(check({bearer(t)}, {target("customer/42", &customer_, {{"customer", "42"}})}).status,
            200);
  Decision d = check({bearer(t)}, {target("customer/43", &customer_, {{"customer", "43"}})});
  EXPECT_EQ(d.status, 403);
  EXPECT_EQ(d.reason, Reason::kClaimMismatch);
  // A static token reads everything: it has no claims to bind.
  EXPECT_EQ(
      check({bearer(kStatic)}, {target("customer/43", &customer_, {{"customer", "43"}})}).status,
      200);
}

TEST_F(AuthPolicyTest, StaticTokensReadEveryStreamAndNeverExpire) {
  config::StreamConfig other = stream("other", config::AuthMode::kRequired);
  Decision d = check({bearer(kStatic)}, {target("orders", &orders_), target("other", &other)});
  EXPECT_EQ(d.status, 200);
  ASSERT_TRUE(d.principal);
  EXPECT_EQ(d.principal->kind, Principal::Kind::kStaticToken);
  EXPECT_EQ(d.principal->subject, "tokens[0]");
  EXPECT_FALSE(d.expires);
  // One character off, shorter, longer: unknown.
  for (const std::string& bad :
       {kStatic.substr(1), kStatic + "x", std::string(kStatic).replace(3, 1, "X")}) {
    Decision r = check({bearer(bad)}, {target("orders", &orders_)});
    EXPECT_EQ(r.status, 401) << bad;
    EXPECT_EQ(r.reason, Reason::kUnknownToken);
  }
}

TEST_F(AuthPolicyTest, ConflictingCredentialsAre400InvalidRequest) {
  const std::string t = token(claims(Json::array({"orders"})));
  Decision d = check({bearer(t), {"Cookie", "pb_token=" + kStatic}}, {target("orders", &orders_)});
  EXPECT_EQ(d.status, 400);
  EXPECT_EQ(d.reason, Reason::kConflict);
  EXPECT_NE(d.www_authenticate.find("error=\"invalid_request\""), std::string::npos);
  d = check({}, {target("orders", &orders_)}, {t, kStatic});
  EXPECT_EQ(d.status, 400);
  // The same token twice is fine.
  EXPECT_EQ(
      check({bearer(t), {"Cookie", "pb_token=" + t}}, {target("orders", &orders_)}, {t}).status,
      200);
}

TEST_F(AuthPolicyTest, AuthNoneStreamsIgnoreCredentials) {
  EXPECT_EQ(check({}, {target("board", &board_)}).status, 200);
  Decision d = check({bearer("garbage")}, {target("board", &board_)});
  EXPECT_EQ(d.status, 200);
  EXPECT_FALSE(d.principal);
}

TEST_F(AuthPolicyTest, UpstreamStreamsNeedTheirForwardedHeaders) {
  Decision d = check({}, {target("mine", &mine_)});
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(d.reason, Reason::kMissingUpstreamHeaders);
  // Pollbridge's own cookie is not a credential for the upstream.
  d = check({{"Cookie", "pb_token=" + kStatic}}, {target("mine", &mine_)});
  EXPECT_EQ(d.status, 401);
  d = check({{"Cookie", "session=abc"}}, {target("mine", &mine_)});
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(d.upstream, std::vector<std::size_t>{0});
  // Mixed with a required stream, the token is checked too.
  d = check({{"Cookie", "session=abc"}}, {target("orders", &orders_), target("mine", &mine_)});
  EXPECT_EQ(d.status, 401);
  d = check({{"Cookie", "session=abc"}, bearer(kStatic)},
            {target("orders", &orders_), target("mine", &mine_)});
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(d.upstream, std::vector<std::size_t>{1});
}

TEST_F(AuthPolicyTest, UnknownAddressesNeedACredentialFirst) {
  EXPECT_EQ(check({}, {target("nothing", nullptr)}).status, 401);
  EXPECT_EQ(check({bearer(kStatic)}, {target("nothing", nullptr)}).status, 200);  // then 404
  const std::string t = token(claims(Json::array({"orders"})));
  EXPECT_EQ(check({bearer(t)}, {target("nothing", nullptr)}).status, 403);
  // Without an auth: section nothing is required.
  Policy open;
  RequestView v;
  EXPECT_EQ(open.check(v, {target("nothing", nullptr)}, kNow).status, 200);
}

TEST_F(AuthPolicyTest, ListingShowsOnlyWhatTheCallerMayRead) {
  const std::string t = token(claims(Json::array({"orders", "customer/*"})));
  std::vector<std::pair<std::string, std::string>> h = {bearer(t)};
  RequestView v;
  for (const auto& [n, val] : h) v.headers.emplace_back(n, val);
  Authentication who = policy_->authenticate(v, kNow);
  ASSERT_EQ(who.status, 200);
  config::StreamConfig other = stream("other", config::AuthMode::kRequired);
  EXPECT_TRUE(policy_->may_list(who, target("orders", &orders_)));
  EXPECT_TRUE(policy_->may_list(who, target("board", &board_)));
  EXPECT_FALSE(policy_->may_list(who, target("other", &other)));
  EXPECT_TRUE(policy_->may_list(who, target("customer/42", &customer_, {{"customer", "42"}})));
  EXPECT_FALSE(policy_->may_list(who, target("customer/7", &customer_, {{"customer", "7"}})));
  EXPECT_FALSE(policy_->may_list(who, target("mine", &mine_)));  // per-user data
  Authentication anonymous = policy_->authenticate(RequestView{}, kNow);
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_TRUE(policy_->may_list(anonymous, target("board", &board_)));
  EXPECT_FALSE(policy_->may_list(anonymous, target("orders", &orders_)));
}

TEST_F(AuthPolicyTest, ABrokenKeyRejectsTheNewPolicyAndTheOldOneStays) {
  PolicyHolder holder(policy_);
  config::AuthConfig broken = auth_config();
  broken.jwt.keys[1].material = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
  try {
    holder.set(Policy::from_config(broken));
    FAIL() << "a key that does not load was accepted";
  } catch (const KeyError& e) {
    EXPECT_NE(std::string(e.what()).find("idp.pem"), std::string::npos) << e.what();
  }
  EXPECT_EQ(holder.get(), policy_);
  // A good new config replaces the keys as a whole.
  config::AuthConfig rotated = auth_config();
  rotated.jwt.keys[0].material = std::string(32, 'n');
  holder.set(Policy::from_config(rotated));
  RequestView v;
  std::string old_header = "Bearer " + token(claims(Json::array({"orders"})));
  v.headers.emplace_back("Authorization", old_header);
  EXPECT_EQ(holder.get()->check(v, {target("orders", &orders_)}, kNow).reason,
            Reason::kBadSignature);
  EXPECT_EQ(policy_->check(v, {target("orders", &orders_)}, kNow).status, 200);
}

TEST(AuthChallengeTest, FollowsRfc6750) {
  EXPECT_EQ(challenge(401, Reason::kMissing), "Bearer realm=\"pollbridge\"");
  EXPECT_EQ(challenge(401, Reason::kExpired),
            "Bearer realm=\"pollbridge\", error=\"invalid_token\", "
            "error_description=\"the token has expired\"");
  EXPECT_EQ(challenge(400, Reason::kConflict).find("error=\"invalid_request\""), 27u);
  EXPECT_NE(challenge(403, Reason::kForbiddenStream).find("error=\"insufficient_scope\""),
            std::string::npos);
  // Every reason's text is safe inside a quoted-string.
  for (std::size_t i = 0; i < kReasonCount; ++i) {
    const std::string text = reason_text(static_cast<Reason>(i));
    EXPECT_EQ(text.find_first_of("\"\\\r\n"), std::string::npos) << text;
    EXPECT_STRNE(reason_name(static_cast<Reason>(i)), "unknown");
  }
}

TEST(AuthFailureCountersTest, EveryReasonIsALabel) {
  FailureCounters c;
  c.count(Reason::kExpired);
  c.count(Reason::kExpired);
  c.count(Reason::kForbiddenStream);
  std::string out;
  c.write_prometheus(out);
  EXPECT_NE(out.find("# TYPE pollbridge_auth_failures_total counter\n"), std::string::npos);
  EXPECT_NE(out.find("pollbridge_auth_failures_total{reason=\"expired\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("pollbridge_auth_failures_total{reason=\"forbidden_stream\"} 1\n"),
            std::string::npos);
  EXPECT_NE(out.find("pollbridge_auth_failures_total{reason=\"bad_signature\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(out.find("reason=\"ok\""), std::string::npos);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::auth
