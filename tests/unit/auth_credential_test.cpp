// Where credentials come from (src/auth/credential_source.h), the streams
// claim (stream_grants.h) and claim bindings (claim_binding.h).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/claim_binding.h"
#include "auth/credential_source.h"
#include "auth/forwarded_headers.h"
#include "auth/stream_grants.h"
#include "support/auth_print.h"
#include "support/file_local.h"

namespace pb::auth {
namespace PB_FILE_LOCAL {

using Json = nlohmann::json;

RequestView request(std::vector<std::pair<std::string, std::string>>& storage,
                    std::vector<std::string> query = {}) {
  RequestView v;
  for (const auto& [n, val] : storage) v.headers.emplace_back(n, val);
  v.query_tokens = std::move(query);
  return v;
}

Credential find(std::vector<std::pair<std::string, std::string>> headers,
                std::vector<std::string> query = {}, std::string cookie = "pb_token") {
  return find_credential(request(headers, std::move(query)), cookie);
}

TEST(AuthCredentialTest, BearerHeaderCookieAndQueryAreRead) {
  Credential c = find({{"Authorization", "Bearer abc.def.ghi"}});
  EXPECT_EQ(c.reason, Reason::kOk);
  EXPECT_EQ(c.token, "abc.def.ghi");
  EXPECT_EQ(c.source, Source::kHeader);
  c = find({{"authorization", "bearer   abc"}});  // scheme and name in any case
  EXPECT_EQ(c.token, "abc");
  c = find({{"AUTHORIZATION", "BEARER abc=="}});
  EXPECT_EQ(c.token, "abc==");
  c = find({{"Cookie", "a=1; pb_token=tok; b=2"}});
  EXPECT_EQ(c.reason, Reason::kOk);
  EXPECT_EQ(c.token, "tok");
  EXPECT_EQ(c.source, Source::kCookie);
  c = find({{"Cookie", "pb_token=\"quoted\""}});
  EXPECT_EQ(c.token, "quoted");
  c = find({{"Cookie", "a=1"}, {"Cookie", "pb_token=split"}});  // HTTP/2 splits Cookie
  EXPECT_EQ(c.token, "split");
  c = find({}, {"q"});
  EXPECT_EQ(c.reason, Reason::kOk);
  EXPECT_EQ(c.source, Source::kQuery);
}

TEST(AuthCredentialTest, AbsentOrForeignCredentialsAreMissing) {
  EXPECT_EQ(find({}).reason, Reason::kMissing);
  EXPECT_EQ(find({{"Authorization", "Basic dXNlcjpwYXNz"}}).reason, Reason::kMissing);
  EXPECT_EQ(find({{"Cookie", "pb_token="}}).reason, Reason::kMissing);
  EXPECT_EQ(find({{"Cookie", "PB_TOKEN=x"}}).reason, Reason::kMissing);  // names are exact
  EXPECT_EQ(find({{"Cookie", "xpb_token=x"}}).reason, Reason::kMissing);
  EXPECT_EQ(find({}, {""}).reason, Reason::kMissing);
  // Cookies are not read when no cookie name is configured.
  EXPECT_EQ(find({{"Cookie", "pb_token=x"}}, {}, "").reason, Reason::kMissing);
  EXPECT_EQ(find({{"X-Token", "Bearer abc"}}).reason, Reason::kMissing);
}

TEST(AuthCredentialTest, MalformedBearerFieldsAreInvalidTokens) {
  for (const char* v : {"Bearer", "Bearer ", "Bearer a b", "Bearer a\"b", "Bearer =abc",
                        "Bearer a=b", "Bearer a,b", "Bearer \x01"}) {
    Credential c = find({{"Authorization", v}});
    EXPECT_EQ(c.reason, Reason::kMalformed) << v;
    EXPECT_TRUE(c.token.empty());
  }
}

TEST(AuthCredentialTest, DifferentCredentialsConflict) {
  EXPECT_EQ(find({{"Authorization", "Bearer a"}, {"Cookie", "pb_token=b"}}).reason,
            Reason::kConflict);
  EXPECT_EQ(find({{"Authorization", "Bearer a"}}, {"b"}).reason, Reason::kConflict);
  EXPECT_EQ(find({{"Cookie", "pb_token=a"}}, {"b"}).reason, Reason::kConflict);
  EXPECT_EQ(find({{"Cookie", "pb_token=a; pb_token=b"}}).reason, Reason::kConflict);
  EXPECT_EQ(find({}, {"a", "b"}).reason, Reason::kConflict);
  // Two Bearer fields are a repeated parameter, even when equal.
  EXPECT_EQ(find({{"Authorization", "Bearer a"}, {"Authorization", "Bearer a"}}).reason,
            Reason::kConflict);
  EXPECT_EQ(find({{"Authorization", "Bearer a"}, {"Authorization", "Bearer"}}).reason,
            Reason::kConflict);
  // The token is never handed out with a conflict.
  EXPECT_TRUE(find({{"Authorization", "Bearer a"}, {"Cookie", "pb_token=b"}}).token.empty());
}

TEST(AuthCredentialTest, TheSameTokenByTwoMethodsIsOneCredential) {
  Credential c = find({{"Authorization", "Bearer a"}, {"Cookie", "pb_token=a"}}, {"a"});
  EXPECT_EQ(c.reason, Reason::kOk);
  EXPECT_EQ(c.token, "a");
  EXPECT_EQ(c.source, Source::kHeader);
  EXPECT_EQ(find({{"Cookie", "pb_token=a; pb_token=a"}}).reason, Reason::kOk);
  // A Basic Authorization beside a cookie token is not a conflict.
  EXPECT_EQ(find({{"Authorization", "Basic x"}, {"Cookie", "pb_token=a"}}).reason, Reason::kOk);
}

TEST(AuthCredentialTest, StripQueryParamRemovesEveryOccurrence) {
  std::string t = "/events/orders?access_token=abc";
  EXPECT_EQ(strip_query_param(t, "access_token"), std::vector<std::string>{"abc"});
  EXPECT_EQ(t, "/events/orders");
  t = "/events?stream=a&access_token=x.y.z&stream=b&lastEventId=7";
  EXPECT_EQ(strip_query_param(t, "access_token"), std::vector<std::string>{"x.y.z"});
  EXPECT_EQ(t, "/events?stream=a&stream=b&lastEventId=7");
  t = "/e?access_token=1&access%5Ftoken=2&access_token&a=%20";
  EXPECT_EQ(strip_query_param(t, "access_token"), (std::vector<std::string>{"1", "2", ""}));
  EXPECT_EQ(t, "/e?a=%20");
  t = "/e?access_token=a%2Eb+c%zz";
  EXPECT_EQ(strip_query_param(t, "access_token"), std::vector<std::string>{"a.b c%zz"});
  EXPECT_EQ(t, "/e");
  t = "/e?x=access_token&access_tokens=1&y=2";  // only the exact name
  EXPECT_TRUE(strip_query_param(t, "access_token").empty());
  EXPECT_EQ(t, "/e?x=access_token&access_tokens=1&y=2");
  t = "/e";
  EXPECT_TRUE(strip_query_param(t, "access_token").empty());
  EXPECT_EQ(t, "/e");
  t = "/e?";
  EXPECT_TRUE(strip_query_param(t, "access_token").empty());
  EXPECT_EQ(t, "/e?");
}

TEST(AuthCredentialTest, StripCookieKeepsTheOthers) {
  EXPECT_EQ(strip_cookie("a=1; pb_token=t; b=2", "pb_token"), "a=1; b=2");
  EXPECT_EQ(strip_cookie("pb_token=t", "pb_token"), "");
  EXPECT_EQ(strip_cookie("session=s;pb_token=t;  other=\"q\"", "pb_token"),
            "session=s; other=\"q\"");
  EXPECT_EQ(strip_cookie("pb_token=a; pb_token=b; x=1", "pb_token"), "x=1");
}

TEST(AuthCredentialTest, ForwardedValuesNeverCarryPollbridgesCookie) {
  config::StreamConfig s;
  s.auth.forward_headers = {"Cookie", "X-User"};
  std::vector<std::pair<std::string, std::string>> h = {{"cookie", "session=s1; pb_token=secret"},
                                                        {"X-USER", "u1"},
                                                        {"x-user", "u2"},
                                                        {"Authorization", "Bearer secret"}};
  HeaderList v = forwarded_values(request(h), s, "pb_token");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], (std::pair<std::string, std::string>{"Cookie", "session=s1"}));
  EXPECT_EQ(v[1], (std::pair<std::string, std::string>{"X-User", "u1, u2"}));
  // Only the token cookie: nothing to forward.
  std::vector<std::pair<std::string, std::string>> only = {{"Cookie", "pb_token=secret"}};
  EXPECT_TRUE(forwarded_values(request(only), s, "pb_token").empty());
}

TEST(AuthCredentialTest, ForwardedDigestTellsValueSetsApart) {
  const std::string key(32, 'k');
  const HeaderList a = {{"Cookie", "s=1"}};
  EXPECT_EQ(forwarded_digest(a, key), forwarded_digest(HeaderList{{"Cookie", "s=1"}}, key));
  EXPECT_NE(forwarded_digest(a, key), forwarded_digest(HeaderList{{"Cookie", "s=2"}}, key));
  EXPECT_NE(forwarded_digest(a, key), forwarded_digest(a, std::string(32, 'j')));
  // No ambiguity between where one value ends and the next begins.
  EXPECT_NE(forwarded_digest(HeaderList{{"A", "bc"}, {"D", ""}}, key),
            forwarded_digest(HeaderList{{"A", "b"}, {"cD", ""}}, key));
  EXPECT_EQ(forwarded_digest(a, key).size(), 64u);
  EXPECT_EQ(forwarded_digest(a, key).find("s=1"), std::string::npos);
}

TEST(AuthGrantsTest, ExactAddressesPatternsAndEverything) {
  const Json claim = Json::array({"orders", "customer/*", "tenant/*/orders/*", "a/b"});
  StreamGrants g = StreamGrants::from_claim(&claim);
  EXPECT_TRUE(g.covers("orders"));
  EXPECT_TRUE(g.covers("customer/42"));
  EXPECT_TRUE(g.covers("tenant/7/orders/9"));
  EXPECT_TRUE(g.covers("a/b"));
  EXPECT_FALSE(g.covers("orders/1"));
  EXPECT_FALSE(g.covers("order"));
  EXPECT_FALSE(g.covers("Orders"));
  EXPECT_FALSE(g.covers("customer"));
  EXPECT_FALSE(g.covers("customer/"));
  EXPECT_FALSE(g.covers("customer/42/x"));
  EXPECT_FALSE(g.covers("tenant/7/orders"));
  EXPECT_FALSE(g.covers("a/b/c"));
  EXPECT_FALSE(g.covers(""));
  EXPECT_FALSE(g.covers("/orders"));
  EXPECT_FALSE(g.everything());
  const Json star = Json::array({"*"});
  EXPECT_TRUE(StreamGrants::from_claim(&star).covers("anything/at/all"));
  EXPECT_TRUE(StreamGrants::all().covers("x"));
}

TEST(AuthGrantsTest, ASpaceSeparatedStringIsAListToo) {
  const Json claim = "orders  customer/*";
  StreamGrants g = StreamGrants::from_claim(&claim);
  EXPECT_TRUE(g.covers("orders"));
  EXPECT_TRUE(g.covers("customer/1"));
  EXPECT_FALSE(g.covers("orders customer/*"));
}

TEST(AuthGrantsTest, InvalidEntriesAndClaimsGrantNothing) {
  for (const Json& claim : {Json(nullptr), Json(7), Json(true), Json::object({{"orders", true}}),
                            Json::array({"orders", 7}),  // one bad element spoils the claim
                            Json::array({"cust*", "*/", "/x", "a//b", "", "**"}), Json::array()}) {
    StreamGrants g = StreamGrants::from_claim(&claim);
    for (const char* a : {"orders", "cust1", "customer", "x", "a/b", "a//b", "**", "*"}) {
      EXPECT_FALSE(g.covers(a)) << claim.dump() << " " << a;
    }
  }
  EXPECT_FALSE(StreamGrants::from_claim(nullptr).covers("orders"));
  EXPECT_FALSE(StreamGrants().covers("orders"));
}

TEST(AuthBindingTest, ParameterMustEqualTheClaim) {
  const std::map<std::string, std::string> bind = {{"customer", "sub"}};
  const Json c = {
      {"sub", "42"}, {"n", 42}, {"list", Json::array({"7", 8})}, {"f", 42.0}, {"b", true}};
  EXPECT_TRUE(bindings_hold(bind, {{"customer", "42"}}, c));
  EXPECT_FALSE(bindings_hold(bind, {{"customer", "43"}}, c));
  EXPECT_FALSE(bindings_hold(bind, {{"customer", "042"}}, c));
  EXPECT_FALSE(bindings_hold(bind, {{"customer", " 42"}}, c));
  EXPECT_FALSE(bindings_hold(bind, {}, c));
  EXPECT_TRUE(bindings_hold({{"customer", "n"}}, {{"customer", "42"}}, c));
  EXPECT_TRUE(bindings_hold({{"customer", "list"}}, {{"customer", "7"}}, c));
  EXPECT_TRUE(bindings_hold({{"customer", "list"}}, {{"customer", "8"}}, c));
  EXPECT_FALSE(bindings_hold({{"customer", "list"}}, {{"customer", "9"}}, c));
  EXPECT_FALSE(bindings_hold({{"customer", "f"}}, {{"customer", "42"}}, c));
  EXPECT_FALSE(bindings_hold({{"customer", "b"}}, {{"customer", "true"}}, c));
  EXPECT_FALSE(bindings_hold({{"customer", "absent"}}, {{"customer", "42"}}, c));
  // Several bindings: all must hold.
  EXPECT_FALSE(bindings_hold({{"customer", "sub"}, {"region", "sub"}},
                             {{"customer", "42"}, {"region", "eu"}}, c));
  EXPECT_TRUE(bindings_hold({}, {{"customer", "x"}}, c));
}

TEST(CredentialSourceTest, QueryParamIsFoundInHttplibsPercentUForm) {
  // httplib decodes %uXXXX in a query; the stripping must find the same name.
  std::string t = "/events/a?%u0061ccess_token=abc&x=1";
  EXPECT_EQ(strip_query_param(t, "access_token"), std::vector<std::string>{"abc"});
  EXPECT_EQ(t, "/events/a?x=1");
  t = "/events/a?access_token=%u0041b&acc%u0065ss%5Ftoken=c";
  EXPECT_EQ(strip_query_param(t, "access_token"), (std::vector<std::string>{"Ab", "c"}));
  EXPECT_EQ(t, "/events/a");
  // A surrogate is dropped as httplib drops it; a short %u stays text.
  t = "/e?access_token%uD800=1&access_token%u00=2";
  EXPECT_EQ(strip_query_param(t, "access_token"), std::vector<std::string>{"1"});
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::auth
