// The config loader on valid configs: every default, every field, the
// shipped config, files and the environment.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "config/config.h"
#include "config/duration.h"
#include "config/env.h"
#include "config/loader.h"
#include "config/path_template.h"
#include "config/url.h"
#include "support/file_local.h"
#include "unit/config_test_support.h"

namespace pb::config {
namespace PB_FILE_LOCAL {

using namespace config_test;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// Valid configs

TEST(ConfigTest, MinimalStreamGetsEveryDefault) {
  const Config c = parse(kStream);
  EXPECT_EQ(c.file, "pb.yaml");
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.server.heartbeat, seconds(15));
  EXPECT_EQ(c.server.retry, seconds(3));
  EXPECT_EQ(c.server.workers, 8u);
  EXPECT_EQ(c.server.hub_threads, 0u);
  EXPECT_EQ(c.server.backlog, 4096);
  EXPECT_EQ(c.server.max_clients, 100000u);
  EXPECT_EQ(c.server.client_backlog_events, 1024u);
  EXPECT_EQ(c.server.client_backlog_bytes, 8u << 20);
  EXPECT_EQ(c.server.admin_token, "");
  EXPECT_TRUE(c.server.cors_origins.empty());
  EXPECT_EQ(c.server.shutdown_timeout, seconds(5));
  EXPECT_EQ(c.server.static_dir, "");
  EXPECT_EQ(c.history, 1000u);
  EXPECT_EQ(c.state.dir, "./data");
  EXPECT_FALSE(c.state.fsync);

  ASSERT_EQ(c.streams.size(), 1u);
  const StreamConfig& s = c.streams[0];
  EXPECT_EQ(s.name, "orders");
  EXPECT_EQ(s.url, "http://127.0.0.1:9000/api/orders");
  EXPECT_EQ(s.path, "/events/orders");
  EXPECT_TRUE(s.params.empty());
  EXPECT_EQ(s.max_instances, 100u);
  EXPECT_EQ(s.interval, seconds(1));
  EXPECT_EQ(s.timeout, seconds(5));
  EXPECT_EQ(s.method, "GET");
  EXPECT_EQ(s.body, "");
  EXPECT_EQ(s.content_type, "application/json");
  EXPECT_TRUE(s.headers.empty());
  EXPECT_EQ(s.diff, DiffMode::kJsonPatch);
  EXPECT_EQ(s.select, "");
  EXPECT_TRUE(s.ignore.empty());
  EXPECT_EQ(s.key, "");
  EXPECT_EQ(s.idle, IdlePolicy::kKeep);
  EXPECT_EQ(s.linger, seconds(30));
  EXPECT_EQ(s.max_body, 4u << 20);
  EXPECT_EQ(s.backoff_max, seconds(60));
  EXPECT_TRUE(s.tls_verify);
  EXPECT_EQ(s.ca_file, "");
  EXPECT_EQ(s.history, 1000u);
  EXPECT_EQ(s.max_header_bytes, 64u << 10);
  EXPECT_EQ(s.max_connections_per_host, 8u);
  EXPECT_EQ(s.client_cert, "");
  EXPECT_EQ(s.client_key, "");
  EXPECT_EQ(s.where, "pb.yaml:2:5");
}

TEST(ConfigTest, CompleteConfigLoadsEveryField) {
  TempDir tmp;
  const std::string web = tmp.dir("web");
  const std::string ca = tmp.file("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  const std::string yaml = R"(server:
  listen: "[::1]:0"
  heartbeat: 20s
  retry: 0s
  workers: 4
  hub_threads: 2
  backlog: 128
  max_clients: 5000
  client_backlog_events: 64
  client_backlog_bytes: 512KiB
  admin_token: "${PB_ADMIN_TOKEN}"
  cors_origins: ["https://app.example.com", "http://localhost:3000"]
  shutdown_timeout: 1m
  static_dir: ")" + web + R"("
history: 50
state: { dir: /var/lib/pollbridge, fsync: true }
streams:
  - name: orders
    url: https://legacy.example.com:8443/api/customers/{customer}/orders?limit=50
    path: /events/orders/{customer}
    params: { customer: "^[0-9]{1,12}$" }
    max_instances: 20
    interval: 1m30s
    timeout: 250ms
    method: post
    body: '{"q":1}'
    content_type: application/vnd.api+json
    headers: { Authorization: "Bearer ${LEGACY_TOKEN}", X-Client: pollbridge }
    diff: items
    select: /data/orders
    ignore: [/updatedAt, /meta/requestId]
    key: id
    idle: stop
    linger: 10s
    max_body: 1MB
    backoff_max: 5m
    tls_verify: false
    ca_file: ")" + ca + R"("
    history: 7
  - name: prices.v2
    url: http://127.0.0.1:9000/prices
    diff: text
)";
  const Config c =
      parse(yaml, env_of({{"PB_ADMIN_TOKEN", "adm1n"}, {"LEGACY_TOKEN", "legacy-secret"}}));
  EXPECT_EQ(c.server.host, "::1");
  EXPECT_EQ(c.server.port, 0);
  EXPECT_EQ(c.server.heartbeat, seconds(20));
  EXPECT_EQ(c.server.retry, Duration(0));
  EXPECT_EQ(c.server.workers, 4u);
  EXPECT_EQ(c.server.hub_threads, 2u);
  EXPECT_EQ(c.server.backlog, 128);
  EXPECT_EQ(c.server.max_clients, 5000u);
  EXPECT_EQ(c.server.client_backlog_events, 64u);
  EXPECT_EQ(c.server.client_backlog_bytes, 512u * 1024);
  EXPECT_EQ(c.server.admin_token, "adm1n");
  EXPECT_EQ(c.server.cors_origins,
            (std::vector<std::string>{"https://app.example.com", "http://localhost:3000"}));
  EXPECT_EQ(c.server.shutdown_timeout, minutes(1));
  EXPECT_EQ(c.server.static_dir, web);
  EXPECT_EQ(c.history, 50u);
  EXPECT_EQ(c.state.dir, "/var/lib/pollbridge");
  EXPECT_TRUE(c.state.fsync);

  ASSERT_EQ(c.streams.size(), 2u);
  const StreamConfig& s = c.streams[0];
  EXPECT_EQ(s.name, "orders");
  EXPECT_EQ(s.url, "https://legacy.example.com:8443/api/customers/{customer}/orders?limit=50");
  EXPECT_EQ(s.path, "/events/orders/{customer}");
  EXPECT_EQ(s.params, (std::map<std::string, std::string>{{"customer", "^[0-9]{1,12}$"}}));
  EXPECT_EQ(s.max_instances, 20u);
  EXPECT_EQ(s.interval, seconds(90));
  EXPECT_EQ(s.timeout, milliseconds(250));
  EXPECT_EQ(s.method, "POST");
  EXPECT_EQ(s.body, R"({"q":1})");
  EXPECT_EQ(s.content_type, "application/vnd.api+json");
  EXPECT_EQ(s.headers, (std::vector<std::pair<std::string, std::string>>{
                           {"Authorization", "Bearer legacy-secret"}, {"X-Client", "pollbridge"}}));
  EXPECT_EQ(s.diff, DiffMode::kItems);
  EXPECT_EQ(s.select, "/data/orders");
  EXPECT_EQ(s.ignore, (std::vector<std::string>{"/updatedAt", "/meta/requestId"}));
  EXPECT_EQ(s.key, "id");
  EXPECT_EQ(s.idle, IdlePolicy::kStop);
  EXPECT_EQ(s.linger, seconds(10));
  EXPECT_EQ(s.max_body, 1000000u);
  EXPECT_EQ(s.backoff_max, minutes(5));
  EXPECT_FALSE(s.tls_verify);
  EXPECT_EQ(s.ca_file, ca);
  EXPECT_EQ(s.history, 7u);
  EXPECT_EQ(s.where, "pb.yaml:18:5");

  const StreamConfig& t = c.streams[1];
  EXPECT_EQ(t.name, "prices.v2");
  EXPECT_EQ(t.path, "/events/prices.v2");
  EXPECT_EQ(t.diff, DiffMode::kText);
  EXPECT_EQ(t.history, 50u) << "inherits the top-level history";
  EXPECT_EQ(t.where, "pb.yaml:40:5");
}

TEST(ConfigTest, ShippedConfigLoads) {
  const Config c = load_config(std::string(PB_SOURCE_DIR) + "/config/pollbridge.yaml", no_env);
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.server.admin_token, "") << "admin endpoints are off unless PB_ADMIN_TOKEN is set";
  ASSERT_EQ(c.streams.size(), 1u);
  EXPECT_EQ(c.streams[0].name, "orders");
  EXPECT_EQ(c.streams[0].url, "http://127.0.0.1:9000/api/orders");
  EXPECT_EQ(c.streams[0].path, "/events/orders");
}

TEST(ConfigTest, ShippedConfigShowsTheDefaults) {
  // Every value written in the shipped file is the default, so it loads to
  // the same Config as a minimal file.
  const Config a = load_config(std::string(PB_SOURCE_DIR) + "/config/pollbridge.yaml", no_env);
  const Config b = parse(kStream);
  EXPECT_EQ(a.server.host, b.server.host);
  EXPECT_EQ(a.server.port, b.server.port);
  EXPECT_EQ(a.server.heartbeat, b.server.heartbeat);
  EXPECT_EQ(a.server.retry, b.server.retry);
  EXPECT_EQ(a.server.workers, b.server.workers);
  EXPECT_EQ(a.server.hub_threads, b.server.hub_threads);
  EXPECT_EQ(a.server.backlog, b.server.backlog);
  EXPECT_EQ(a.server.max_clients, b.server.max_clients);
  EXPECT_EQ(a.server.client_backlog_events, b.server.client_backlog_events);
  EXPECT_EQ(a.server.client_backlog_bytes, b.server.client_backlog_bytes);
  EXPECT_EQ(a.server.admin_token, b.server.admin_token);
  EXPECT_EQ(a.server.cors_origins, b.server.cors_origins);
  EXPECT_EQ(a.server.shutdown_timeout, b.server.shutdown_timeout);
  EXPECT_EQ(a.server.static_dir, b.server.static_dir);
  EXPECT_EQ(a.server.reuse_port, b.server.reuse_port);
  EXPECT_EQ(a.server.header_timeout, b.server.header_timeout);
  EXPECT_EQ(a.server.max_header_bytes, b.server.max_header_bytes);
  EXPECT_EQ(a.server.keepalive_timeout, b.server.keepalive_timeout);
  EXPECT_EQ(a.server.keepalive_requests, b.server.keepalive_requests);
  EXPECT_EQ(a.server.max_request_body, b.server.max_request_body);
  EXPECT_EQ(a.server.body_timeout, b.server.body_timeout);
  EXPECT_EQ(a.server.max_connections, b.server.max_connections);
  EXPECT_EQ(a.server.max_connections_per_ip, b.server.max_connections_per_ip);
  EXPECT_FALSE(a.server.tls.enabled());
  EXPECT_EQ(a.server.cors_credentials, b.server.cors_credentials);
  EXPECT_EQ(a.server.admin_port, b.server.admin_port);
  EXPECT_EQ(a.auth.enabled, b.auth.enabled);
  EXPECT_EQ(a.history, b.history);
  EXPECT_EQ(a.state.dir, b.state.dir);
  EXPECT_EQ(a.state.fsync, b.state.fsync);
  EXPECT_EQ(a.log.format, b.log.format);
  EXPECT_EQ(a.log.level, b.log.level);
  EXPECT_EQ(a.log.access, b.log.access);
  const StreamConfig& x = a.streams.at(0);
  const StreamConfig& y = b.streams.at(0);
  EXPECT_EQ(x.params, y.params);
  EXPECT_EQ(x.max_instances, y.max_instances);
  EXPECT_EQ(x.interval, y.interval);
  EXPECT_EQ(x.timeout, y.timeout);
  EXPECT_EQ(x.method, y.method);
  EXPECT_EQ(x.body, y.body);
  EXPECT_EQ(x.content_type, y.content_type);
  EXPECT_EQ(x.headers, y.headers);
  EXPECT_EQ(x.diff, y.diff);
  EXPECT_EQ(x.select, y.select);
  EXPECT_EQ(x.ignore, y.ignore);
  EXPECT_EQ(x.key, y.key);
  EXPECT_EQ(x.idle, y.idle);
  EXPECT_EQ(x.linger, y.linger);
  EXPECT_EQ(x.max_body, y.max_body);
  EXPECT_EQ(x.backoff_max, y.backoff_max);
  EXPECT_EQ(x.tls_verify, y.tls_verify);
  EXPECT_EQ(x.ca_file, y.ca_file);
  EXPECT_EQ(x.history, y.history);
  EXPECT_EQ(x.auth, y.auth);
}

TEST(ConfigTest, ShippedConfigTakesTheAdminTokenFromTheEnvironment) {
  const Config c = load_config(std::string(PB_SOURCE_DIR) + "/config/pollbridge.yaml",
                               env_of({{"PB_ADMIN_TOKEN", "t0ken"}}));
  EXPECT_EQ(c.server.admin_token, "t0ken");
}

TEST(ConfigTest, LoadConfigReadsAFile) {
  TempDir tmp;
  const std::string path = tmp.file("pb.yaml", kStream + "    interval: 2s\n");
  const Config c = load_config(path, no_env);
  EXPECT_EQ(c.file, path);
  EXPECT_EQ(c.streams.at(0).interval, seconds(2));
  EXPECT_EQ(c.streams.at(0).where, path + ":2:5");
}

TEST(ConfigTest, LoadConfigReportsAnUnreadableFile) {
  TempDir tmp;
  const std::string missing = tmp.path() + "/missing.yaml";
  try {
    load_config(missing, no_env);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": cannot read: No such file or directory");
    EXPECT_EQ(e.problems().size(), 1u);
  }
  try {
    load_config(tmp.path(), no_env);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), tmp.path() + ": cannot read: Is a directory");
  }
}

TEST(ConfigTest, LoadConfigUsesTheProcessEnvironment) {
  TempDir tmp;
  ::setenv("PB_CONFIG_TEST_INTERVAL", "3s", 1);
  const std::string path =
      tmp.file("pb.yaml", kStream + "    interval: ${PB_CONFIG_TEST_INTERVAL}\n");
  EXPECT_EQ(load_config(path).streams.at(0).interval, seconds(3));
  ::unsetenv("PB_CONFIG_TEST_INTERVAL");
}

TEST(ConfigTest, ListenAcceptsHostnamesIPv4AndBracketedIPv6) {
  const auto listen = [](const std::string& value) {
    const Config c = parse("server:\n  listen: \"" + value + "\"\n" + kStream);
    return c.server.host + " " + std::to_string(c.server.port);
  };
  EXPECT_EQ(listen("0.0.0.0:80"), "0.0.0.0 80");
  EXPECT_EQ(listen("localhost:65535"), "localhost 65535");
  EXPECT_EQ(listen("[::]:0"), ":: 0");
  EXPECT_EQ(listen("[fe80::1]:9000"), "fe80::1 9000");
  EXPECT_EQ(listen("[::ffff:192.0.2.1]:80"), "::ffff:192.0.2.1 80");
}

TEST(ConfigTest, CorsOriginsAcceptAStarOrAList) {
  EXPECT_EQ(parse("server:\n  cors_origins: \"*\"\n" + kStream).server.cors_origins,
            std::vector<std::string>{"*"});
  EXPECT_EQ(parse("server:\n  cors_origins: [\"*\"]\n" + kStream).server.cors_origins,
            std::vector<std::string>{"*"});
  EXPECT_EQ(parse("server:\n  cors_origins: [\"HTTPS://App.Example.com:8443\"]\n" + kStream)
                .server.cors_origins,
            std::vector<std::string>{"https://app.example.com:8443"})
      << "stored lower-case, as browsers send Origin";
}

TEST(ConfigTest, BooleansAcceptTheUsualSpellings) {
  for (const char* yes : {"true", "True", "yes", "on"}) {
    EXPECT_TRUE(parse(std::string("state: { fsync: ") + yes + " }\n" + kStream).state.fsync) << yes;
  }
  for (const char* no : {"false", "FALSE", "no", "off"}) {
    EXPECT_FALSE(parse(std::string("state: { fsync: ") + no + " }\n" + kStream).state.fsync) << no;
  }
}

TEST(ConfigTest, EmptyStateDirMeansMemoryOnly) {
  EXPECT_EQ(parse("state: { dir: \"\" }\n" + kStream).state.dir, "");
}

TEST(ConfigTest, MethodIsCaseInsensitiveAndStoredUpperCase) {
  EXPECT_EQ(parse(kStream + "    method: get\n").streams[0].method, "GET");
  EXPECT_EQ(parse(kStream + "    method: Post\n    body: x\n").streams[0].method, "POST");
}

TEST(ConfigTest, KeyMayBeAPointer) {
  EXPECT_EQ(parse(kStream + "    diff: items\n    key: /meta/id\n").streams[0].key, "/meta/id");
}

TEST(ConfigTest, UrlSchemeIsStoredLowerCase) {
  EXPECT_EQ(parse("streams:\n  - name: a\n    url: HTTP://Example.com/X\n").streams[0].url,
            "http://Example.com/X");
}

TEST(ConfigTest, BackoffMaxDefaultsToAtLeastTheInterval) {
  EXPECT_EQ(parse(kStream + "    interval: 5m\n").streams[0].backoff_max, minutes(5));
  EXPECT_EQ(parse(kStream + "    interval: 5s\n").streams[0].backoff_max, seconds(60));
}

TEST(ConfigTest, PerStreamHistoryOverridesTheTopLevel) {
  const Config c =
      parse("history: 20\n" + kStream + "    history: 3\n" + "  - name: b\n    url: http://h/b\n");
  EXPECT_EQ(c.history, 20u);
  EXPECT_EQ(c.streams[0].history, 3u);
  EXPECT_EQ(c.streams[1].history, 20u);
}

TEST(ConfigTest, TopLevelHistoryAppliesWhereverItIsWritten) {
  // history after streams still sets the streams' default.
  const Config c = parse(kStream + "history: 9\n");
  EXPECT_EQ(c.streams[0].history, 9u);
}

TEST(ConfigTest, SeveralParameterizedStreamsWithDistinctRoutes) {
  const Config c = parse(R"(streams:
  - name: orders
    url: http://h/orders?customer={customer}
    path: /events/orders/{customer}
    params: { customer: "^[0-9]+$" }
  - name: items
    url: http://h/orders/{order}/items/{item}
    path: /events/orders/{order}/items/{item}
    params: { order: "[0-9]+", item: "[a-z]+" }
  - name: special
    url: http://h/special
    path: /events/special
  - name: one
    url: http://h/one
    path: /events/customers/{id}
    params: { id: "[0-9]+" }
  - name: two
    url: http://h/two
    path: /events/customers/all
)");
  ASSERT_EQ(c.streams.size(), 5u);
  EXPECT_EQ(c.streams[1].params.size(), 2u);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::config
