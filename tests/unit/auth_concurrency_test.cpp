// ctest-labels: threaded
// The policy and its keys are used from every HTTP worker at once while a
// reload swaps them: run under TSan (scripts/test.sh, tsan stage).
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "auth/policy.h"
#include "auth/policy_holder.h"
#include "support/auth_print.h"
#include "support/file_local.h"
#include "support/jwt_forge.h"

namespace pb::auth {
namespace PB_FILE_LOCAL {

using namespace pb::testing;
using std::chrono::seconds;

TEST(AuthConcurrencyTest, ManyThreadsCheckWhileThePolicyIsSwapped) {
  const auto now = std::chrono::system_clock::time_point(seconds(1'700'000'000));
  config::AuthConfig cfg;
  cfg.enabled = true;
  config::JwtKeyConfig hs;
  hs.alg = "HS256";
  hs.material = std::string(32, 's');
  hs.where = "test";
  config::JwtKeyConfig rs;
  rs.alg = "RS256";
  rs.kid = "r";
  rs.material = public_pem(rsa_2048());
  rs.where = "test";
  config::JwtKeyConfig es;
  es.alg = "ES256";
  es.kid = "e";
  es.material = public_pem(ec_p256());
  es.where = "test";
  cfg.jwt.keys = {hs, rs, es};
  cfg.tokens = {"static-token-0123456789"};
  PolicyHolder holder(Policy::from_config(cfg));

  const nlohmann::json claims = {
      {"sub", "u"}, {"exp", 1'700'000'600}, {"streams", nlohmann::json::array({"orders"})}};
  const std::vector<std::string> tokens = {
      sign_hmac("HS256", hs.material, R"({"alg":"HS256"})", claims.dump()),
      sign_with_key("RS256", rsa_2048(), R"({"alg":"RS256","kid":"r"})", claims.dump()),
      sign_with_key("ES256", ec_p256(), R"({"alg":"ES256","kid":"e"})", claims.dump()),
      "static-token-0123456789"};
  config::StreamConfig orders;
  orders.name = "orders";
  orders.auth.mode = config::AuthMode::kRequired;

  constexpr int kThreads = 4;
  constexpr int kChecksPerThread = 300;
  std::atomic<int> admitted{0};
  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    while (!stop.load()) holder.set(Policy::from_config(cfg));  // same keys, new objects
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < kChecksPerThread; ++i) {
        const std::string header = "Bearer " + tokens[(t + i) % tokens.size()];
        RequestView v;
        v.headers.emplace_back("Authorization", header);
        Decision d = holder.get()->check(v, {Target{"orders", &orders, {}}}, now);
        if (d.allowed()) admitted.fetch_add(1);
      }
    });
  }
  for (auto& w : workers) w.join();
  stop = true;
  swapper.join();
  EXPECT_EQ(admitted.load(), kThreads * kChecksPerThread);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::auth
