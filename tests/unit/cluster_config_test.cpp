// state.redis, state.sentinel_password, state.lease, state.prefix
// (docs/configuration.md) and the Redis URL they take
// (src/config/redis_url.h), plain or through Sentinel.
#include <gtest/gtest.h>

#include <map>

#include "config/loader.h"
#include "config/redis_url.h"
#include "support/file_local.h"

namespace pb {
namespace PB_FILE_LOCAL {

using config::parse_redis_url;
using config::RedisUrl;

const std::string kStream =
    "streams:\n"
    "  - name: orders\n"
    "    url: http://127.0.0.1:9000/api/orders\n";

config::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string problems(const std::string& yaml, const config::EnvLookup& env = env_of({})) {
  try {
    config::parse_config(yaml, "pb.yaml", env);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(RedisUrlTest, HostPortDatabaseAndPassword) {
  RedisUrl u;
  std::string why;
  ASSERT_TRUE(parse_redis_url("redis://:s3cret@redis.internal:6380/2", u, why)) << why;
  EXPECT_EQ(u.host, "redis.internal");
  EXPECT_EQ(u.port, 6380);
  EXPECT_EQ(u.db, 2);
  EXPECT_EQ(u.password, "s3cret");
  EXPECT_EQ(u.user, "");
  EXPECT_EQ(u.redacted(), "redis://***@redis.internal:6380/2");
}

TEST(RedisUrlTest, DefaultsUserAndEscapes) {
  RedisUrl u;
  std::string why;
  ASSERT_TRUE(parse_redis_url("redis://localhost", u, why)) << why;
  EXPECT_EQ(u.port, 6379);
  EXPECT_EQ(u.db, 0);
  EXPECT_EQ(u.redacted(), "redis://localhost:6379/0");
  ASSERT_TRUE(parse_redis_url("redis://app:p%40ss%3Aw@[::1]:7000/0", u, why)) << why;
  EXPECT_EQ(u.user, "app");
  EXPECT_EQ(u.password, "p@ss:w");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.redacted(), "redis://***@[::1]:7000/0");
}

TEST(RedisUrlTest, RefusesWhatItCannotUse) {
  RedisUrl u;
  std::string why;
  EXPECT_FALSE(parse_redis_url("rediss://:pw@host:6379/0", u, why));
  EXPECT_NE(why.find("stunnel"), std::string::npos) << why;
  EXPECT_FALSE(parse_redis_url("http://host", u, why));
  EXPECT_FALSE(parse_redis_url("redis://:pw@/0", u, why));
  EXPECT_EQ(why, "has no host");
  EXPECT_FALSE(parse_redis_url("redis://host:0/0", u, why));
  EXPECT_FALSE(parse_redis_url("redis://host:6379/x", u, why));
  EXPECT_FALSE(parse_redis_url("redis://host:6379/0?x=1", u, why));
  EXPECT_FALSE(parse_redis_url("redis://:p%zz@host", u, why));
  EXPECT_FALSE(parse_redis_url("redis://ho st", u, why));
}

TEST(RedisUrlTest, SentinelsMasterNameAndDatabase) {
  RedisUrl u;
  std::string why;
  ASSERT_TRUE(parse_redis_url(
      "redis+sentinel://app:s3cret@10.0.0.1:26380,[::1],sen-3:5000/shop-main/3", u, why))
      << why;
  ASSERT_TRUE(u.via_sentinel());
  ASSERT_EQ(u.sentinels.size(), 3u);
  EXPECT_EQ(u.sentinels[0].text(), "10.0.0.1:26380");
  EXPECT_EQ(u.sentinels[1].text(), "[::1]:26379");
  EXPECT_EQ(u.sentinels[2].text(), "sen-3:5000");
  EXPECT_EQ(u.master_name, "shop-main");
  EXPECT_EQ(u.db, 3);
  EXPECT_EQ(u.user, "app");
  EXPECT_EQ(u.password, "s3cret");
  EXPECT_EQ(u.redacted(), "redis+sentinel://***@10.0.0.1:26380,[::1]:26379,sen-3:5000/shop-main/3");
  ASSERT_TRUE(parse_redis_url("redis+sentinel://h:26379/m", u, why)) << why;
  EXPECT_EQ(u.db, 0);
  EXPECT_EQ(u.redacted(), "redis+sentinel://h:26379/m/0");
  // A plain URL is no sentinel URL.
  ASSERT_TRUE(parse_redis_url("redis://h:6379/0", u, why)) << why;
  EXPECT_FALSE(u.via_sentinel());
}

TEST(RedisUrlTest, RefusesABadSentinelUrl) {
  RedisUrl u;
  std::string why;
  EXPECT_FALSE(parse_redis_url("redis+sentinel://h:26379", u, why));
  EXPECT_NE(why.find("master's name"), std::string::npos) << why;
  EXPECT_FALSE(parse_redis_url("redis+sentinel://h:26379/", u, why));
  EXPECT_FALSE(parse_redis_url("redis+sentinel://h:26379/a b", u, why));
  EXPECT_FALSE(parse_redis_url("redis+sentinel://h:26379,/m", u, why));
  EXPECT_NE(why.find("sentinel"), std::string::npos) << why;
  EXPECT_FALSE(parse_redis_url("redis+sentinel://h:99999/m", u, why));
  EXPECT_FALSE(parse_redis_url("redis+sentinel://h/m/x", u, why));
  EXPECT_FALSE(parse_redis_url("redis+sentinel://h/m$/0", u, why));
  EXPECT_FALSE(parse_redis_url("rediss+sentinel://h/m", u, why));
  EXPECT_NE(why.find("TLS"), std::string::npos) << why;
}

TEST(ClusterConfigTest, ReadsASentinelUrlAndTheSentinelsPassword) {
  config::Config c = config::parse_config(
      "state:\n  redis: \"redis+sentinel://:${MASTER_PW}@s1:26379,s2:26379/main\"\n"
      "  sentinel_password: \"${SENTINEL_PW}\"\n" +
          kStream,
      "pb.yaml", env_of({{"MASTER_PW", "m-secret"}, {"SENTINEL_PW", "s-secret"}}));
  EXPECT_EQ(c.state.redis, "redis+sentinel://:m-secret@s1:26379,s2:26379/main");
  EXPECT_EQ(c.state.sentinel_password, "s-secret");
  // Checked at load, at the key's place, without repeating the secret.
  std::string p = problems("state:\n  redis: \"redis+sentinel://:${PW}@s1:26379\"\n" + kStream,
                           env_of({{"PW", "zz9"}}));
  EXPECT_NE(p.find("pb.yaml:2:"), std::string::npos) << p;
  EXPECT_NE(p.find("master's name"), std::string::npos) << p;
  EXPECT_EQ(p.find("zz9"), std::string::npos) << p;
  p = problems("state:\n  redis: \"redis://h:6379/0\"\n  sentinel_password: \"x\"\n" + kStream);
  EXPECT_NE(p.find("pb.yaml:3:"), std::string::npos) << p;
  EXPECT_NE(p.find("redis+sentinel://"), std::string::npos) << p;
}

TEST(ClusterConfigTest, DefaultsKeepTheEmbeddedStore) {
  config::Config c = config::parse_config(kStream, "pb.yaml", env_of({}));
  EXPECT_EQ(c.state.redis, "");
  EXPECT_EQ(c.state.lease, std::chrono::milliseconds(3000));
  EXPECT_EQ(c.state.prefix, "pollbridge:");
  EXPECT_EQ(c.state.dir, "./data");
}

TEST(ClusterConfigTest, ReadsTheKeysWithThePasswordFromTheEnvironment) {
  config::Config c = config::parse_config(
      "state:\n  redis: \"redis://:${REDIS_PASSWORD}@10.0.0.5:6379/1\"\n  lease: 5s\n"
      "  prefix: \"shop:\"\n" +
          kStream,
      "pb.yaml", env_of({{"REDIS_PASSWORD", "hunter2"}}));
  EXPECT_EQ(c.state.redis, "redis://:hunter2@10.0.0.5:6379/1");
  EXPECT_EQ(c.state.lease, std::chrono::milliseconds(5000));
  EXPECT_EQ(c.state.prefix, "shop:");
}

TEST(ClusterConfigTest, BadValuesAreReportedWithPositionAndNoPassword) {
  std::string p = problems("state:\n  redis: \"rediss://:hunter2@h:6379/0\"\n" + kStream);
  EXPECT_NE(p.find("pb.yaml:2:"), std::string::npos) << p;
  EXPECT_NE(p.find("state.redis"), std::string::npos) << p;
  EXPECT_EQ(p.find("hunter2"), std::string::npos) << p;
  p = problems("state:\n  redis: \"redis://:${PW}@:6379/0\"\n" + kStream, env_of({{"PW", "zz9"}}));
  EXPECT_NE(p.find("has no host"), std::string::npos) << p;
  EXPECT_EQ(p.find("zz9"), std::string::npos) << p;
  p = problems("state:\n  lease: 100ms\n" + kStream);
  EXPECT_NE(p.find("pb.yaml:2:"), std::string::npos) << p;
  EXPECT_NE(p.find("state.lease"), std::string::npos) << p;
  p = problems("state:\n  prefix: \"a b\"\n" + kStream);
  EXPECT_NE(p.find("state.prefix"), std::string::npos) << p;
  p = problems("state:\n  leese: 3s\n" + kStream);
  EXPECT_NE(p.find("lease"), std::string::npos) << p;
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb
