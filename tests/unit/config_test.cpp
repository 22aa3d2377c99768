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

namespace pb::config {
namespace PB_FILE_LOCAL {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

std::optional<std::string> no_env(const std::string&) {
  return std::nullopt;
}

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Config parse(const std::string& yaml, const EnvLookup& env = EnvLookup(no_env)) {
  return parse_config(yaml, "pb.yaml", env);
}

// Every problem reported for `yaml`, one per line; "" when it loads.
std::string problems(const std::string& yaml, const EnvLookup& env = EnvLookup(no_env)) {
  try {
    parse_config(yaml, "pb.yaml", env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// A valid one-stream config; tests append keys to the stream (lines 4+,
// values at column 5).
const std::string kStream =
    "streams:\n"
    "  - name: orders\n"
    "    url: http://127.0.0.1:9000/api/orders\n";

// A scratch directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("pb-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name, const std::string& content) const {
    const fs::path p = path_ / name;
    std::ofstream(p) << content;
    return p.string();
  }
  std::string dir(const std::string& name) const {
    const fs::path p = path_ / name;
    fs::create_directories(p);
    return p.string();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

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

// ---------------------------------------------------------------------------
// ${VAR} substitution

TEST(ConfigEnvTest, SubstitutesInEveryStringValue) {
  const Config c = parse(R"(server:
  listen: "${HOST}:${PORT}"
  cors_origins: ["${ORIGIN}"]
state: { dir: "${DIR}/state" }
streams:
  - name: ${NAME}
    url: http://${UPSTREAM}/api
    interval: ${INTERVAL}
    headers: { X-Key: "k=${KEY}" }
    params: {}
)",
                         env_of({{"HOST", "0.0.0.0"},
                                 {"PORT", "9999"},
                                 {"ORIGIN", "https://a.example"},
                                 {"DIR", "/srv"},
                                 {"NAME", "orders"},
                                 {"UPSTREAM", "10.0.0.1:81"},
                                 {"INTERVAL", "250ms"},
                                 {"KEY", "v"}}));
  EXPECT_EQ(c.server.host, "0.0.0.0");
  EXPECT_EQ(c.server.port, 9999);
  EXPECT_EQ(c.server.cors_origins, std::vector<std::string>{"https://a.example"});
  EXPECT_EQ(c.state.dir, "/srv/state");
  EXPECT_EQ(c.streams[0].name, "orders");
  EXPECT_EQ(c.streams[0].url, "http://10.0.0.1:81/api");
  EXPECT_EQ(c.streams[0].interval, milliseconds(250));
  EXPECT_EQ(c.streams[0].headers.at(0).second, "k=v");
}

TEST(ConfigEnvTest, MissingVariableIsReportedAtItsScalar) {
  EXPECT_EQ(problems(kStream + "    headers: { Authorization: \"Bearer ${LEGACY_TOKEN}\" }\n"),
            "pb.yaml:4:31: environment variable LEGACY_TOKEN is not set");
}

TEST(ConfigEnvTest, EveryMissingVariableIsReported) {
  EXPECT_EQ(problems("server:\n  admin_token: \"${A}${B}\"\n" + kStream),
            "pb.yaml:2:16: environment variable A is not set\n"
            "pb.yaml:2:16: environment variable B is not set");
}

TEST(ConfigEnvTest, SetButEmptyVariableIsUsed) {
  EXPECT_EQ(parse("server:\n  admin_token: \"${TOKEN}\"\n" + kStream, env_of({{"TOKEN", ""}}))
                .server.admin_token,
            "");
}

TEST(ConfigEnvTest, DoubleDollarIsALiteral) {
  const Config c = parse(kStream + "    method: POST\n    body: '{\"a\":\"$${X} $$ $HOME\"}'\n",
                         env_of({{"X", "unused"}}));
  EXPECT_EQ(c.streams[0].body, R"({"a":"${X} $$ $HOME"})");
}

TEST(ConfigEnvTest, DefaultAppliesWhenUnsetOrEmpty) {
  EXPECT_EQ(parse("server:\n  admin_token: \"${T:-fallback}\"\n" + kStream).server.admin_token,
            "fallback");
  EXPECT_EQ(parse("server:\n  admin_token: \"${T:-fallback}\"\n" + kStream, env_of({{"T", ""}}))
                .server.admin_token,
            "fallback");
  EXPECT_EQ(parse("server:\n  admin_token: \"${T:-fallback}\"\n" + kStream, env_of({{"T", "x"}}))
                .server.admin_token,
            "x");
  EXPECT_EQ(parse("server:\n  admin_token: \"${T:-}\"\n" + kStream).server.admin_token, "");
}

TEST(ConfigEnvTest, KeysAreNotSubstituted) {
  EXPECT_EQ(problems(kStream + "    ${KEY}: 1\n", env_of({{"KEY", "interval"}})),
            "pb.yaml:4:5: unknown key \"${KEY}\" in streams[0]");
}

TEST(ConfigEnvTest, MalformedReferences) {
  EXPECT_EQ(problems(kStream + "    body: \"${1X}\"\n"),
            "pb.yaml:4:11: \"${1X}\" does not name an environment variable (names are "
            "[A-Za-z_][A-Za-z0-9_]*; write \"$${\" for a literal \"${\")");
  EXPECT_EQ(problems(kStream + "    body: \"${X\"\n"),
            "pb.yaml:4:11: unterminated \"${\" (write \"$${\" for a literal \"${\")");
}

// Found by tests/fuzz/fuzz_config_file: a message repeating a byte of the
// file (yaml-cpp's "unknown escape character", a bad ${...} reference) could
// hold a NUL, CR or LF and so span lines.
TEST(ConfigEnvTest, EveryProblemIsOneLine) {
  EXPECT_EQ(problems(kStream + "    body: \"${A\x01\x7f}\"\n"),
            "pb.yaml:4:11: \"${A\\x01\\x7f}\" does not name an environment variable (names are "
            "[A-Za-z_][A-Za-z0-9_]*; write \"$${\" for a literal \"${\")");
  EXPECT_EQ(problems(std::string("a: \"\\\0\"\n", 8)),
            "pb.yaml:1:7: invalid YAML: unknown escape character: \\x00");
}

TEST(ConfigEnvTest, ExpandEnvDirectly) {
  std::vector<std::string> errors;
  const auto env = env_of({{"A", "1"}, {"B_2", "two"}});
  EXPECT_EQ(expand_env("x${A}y${B_2}z", env, errors), "x1ytwoz");
  EXPECT_EQ(expand_env("$", env, errors), "$");
  EXPECT_EQ(expand_env("$A ${A}$", env, errors), "$A 1$");
  // Only the three characters "$${" are special; scanning goes left to right.
  EXPECT_EQ(expand_env("$$${A}", env, errors), "$${A}");
  EXPECT_EQ(expand_env("$${A}${A}", env, errors), "${A}1");
  EXPECT_EQ(expand_env("${A:-d}${C:-d}", env, errors), "1d");
  EXPECT_TRUE(errors.empty());
  expand_env("${C}", env, errors);
  EXPECT_EQ(errors, std::vector<std::string>{"environment variable C is not set"});
}

TEST(ConfigEnvTest, ProcessEnvReadsTheEnvironment) {
  ::setenv("PB_CONFIG_TEST_VAR", "value", 1);
  EXPECT_EQ(process_env("PB_CONFIG_TEST_VAR"), std::optional<std::string>("value"));
  ::unsetenv("PB_CONFIG_TEST_VAR");
  EXPECT_EQ(process_env("PB_CONFIG_TEST_VAR"), std::nullopt);
}

// ---------------------------------------------------------------------------
TEST(ConfigTest, CompressionIsAListOfKnownCodings) {
  EXPECT_EQ(parse(kStream).server.compression, (std::vector<std::string>{"gzip"}));
  EXPECT_TRUE(parse("server:\n  compression: []\n" + kStream).server.compression.empty());
  EXPECT_EQ(parse("server:\n  compression: [deflate, GZIP, gzip]\n" + kStream).server.compression,
            (std::vector<std::string>{"deflate", "gzip"}));
  EXPECT_EQ(problems("server:\n  compression: [gzip, br]\n" + kStream),
            "pb.yaml:2:16: server.compression: \"br\" is not a coding pollbridge compresses with "
            "(gzip, deflate)");
  EXPECT_NE(problems("server:\n  compression: gzip\n" + kStream), "");
}

// Document-level problems

// Found by tests/fuzz/fuzz_config_file: on a file starting with ","
// yaml-cpp 0.7's LoadAll() never returned and took all memory.
TEST(ConfigTest, StrayCommaIsAnErrorNotAHang) {
  EXPECT_EQ(problems(","), "pb.yaml:1:1: invalid YAML: unexpected \",\"");
  EXPECT_EQ(problems("  ,streams: []\n"), "pb.yaml:1:3: invalid YAML: unexpected \",\"");
}

TEST(ConfigTest, YamlSyntaxErrorHasAPosition) {
  EXPECT_EQ(problems("streams:\n  - name: [orders\n    url: x\n"),
            "pb.yaml:3:8: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(problems("server:\n\tlisten: x\n"), "pb.yaml:2:8: invalid YAML: illegal map value");
}

TEST(ConfigTest, EmptyFile) {
  EXPECT_EQ(problems(""), "pb.yaml:1:1: the config is empty; it needs at least a streams list");
  EXPECT_EQ(problems("# only a comment\n"),
            "pb.yaml:1:1: the config is empty; it needs at least a streams list");
}

TEST(ConfigTest, TopLevelMustBeAMap) {
  EXPECT_EQ(problems("- a\n- b\n"),
            "pb.yaml:1:1: the top level must be a map (server, history, state, streams), got a "
            "list");
}

TEST(ConfigTest, StreamsAreRequired) {
  EXPECT_EQ(problems("history: 5\n"),
            "pb.yaml:1:1: missing required key \"streams\" (the list of endpoints to poll)");
}

TEST(ConfigTest, StreamsMustBeANonEmptyList) {
  EXPECT_EQ(problems("streams: []\n"), "pb.yaml:1:10: streams: needs at least one stream");
  EXPECT_EQ(problems("streams:\n"), "pb.yaml:1:1: streams: needs at least one stream");
  EXPECT_EQ(problems("streams: {name: a}\n"),
            "pb.yaml:1:10: streams: expected a list of streams, got a map");
  EXPECT_EQ(problems("streams:\n  - orders\n"),
            "pb.yaml:2:5: streams[0]: expected a map with at least name and url, got \"orders\"");
}

TEST(ConfigTest, OnlyOneDocument) {
  EXPECT_EQ(problems(kStream + "---\nhistory: 5\n"),
            "pb.yaml:5:1: only one YAML document is allowed; remove the second \"---\"");
  EXPECT_EQ(problems("---\n" + kStream), "") << "a leading --- is fine";
  EXPECT_EQ(problems("---\n" + kStream + "...\n"), "") << "so is an end marker";
  EXPECT_EQ(problems(kStream + "---\n"), "") << "and a trailing empty document";
}

TEST(ConfigTest, NameAndUrlAreRequired) {
  EXPECT_EQ(problems("streams:\n  - interval: 1s\n"),
            "pb.yaml:2:5: streams[0]: missing required key \"name\"\n"
            "pb.yaml:2:5: streams[0]: missing required key \"url\"");
}

// ---------------------------------------------------------------------------
// Keys

TEST(ConfigTest, UnknownKeySuggestsTheNearestOne) {
  EXPECT_EQ(problems(kStream + "    intervall: 2s\n"),
            "pb.yaml:4:5: unknown key \"intervall\" in streams[0] (did you mean \"interval\"?)");
  EXPECT_EQ(problems(kStream + "    inetrval: 2s\n"),
            "pb.yaml:4:5: unknown key \"inetrval\" in streams[0] (did you mean \"interval\"?)");
  EXPECT_EQ(problems(kStream + "    Timeout: 2s\n"),
            "pb.yaml:4:5: unknown key \"Timeout\" in streams[0] (did you mean \"timeout\"?)");
}

TEST(ConfigTest, UnknownKeyWithoutSuggestion) {
  EXPECT_EQ(problems(kStream + "    foo: 1\n"), "pb.yaml:4:5: unknown key \"foo\" in streams[0]");
}

TEST(ConfigTest, UnknownKeysInEverySection) {
  EXPECT_EQ(problems("sever: {}\nstate: { fsynk: true }\nserver: { worker: 2 }\n" + kStream),
            "pb.yaml:1:1: unknown key \"sever\" at the top level (did you mean \"server\"?)\n"
            "pb.yaml:2:10: unknown key \"fsynk\" in state (did you mean \"fsync\"?)\n"
            "pb.yaml:3:11: unknown key \"worker\" in server (did you mean \"workers\"?)");
}

TEST(ConfigTest, DuplicateKeyInAMap) {
  EXPECT_EQ(problems(kStream + "    interval: 1s\n    interval: 2s\n"),
            "pb.yaml:5:5: duplicate key \"interval\" in streams[0] (first at line 4)");
  EXPECT_EQ(problems("history: 1\nhistory: 2\n" + kStream),
            "pb.yaml:2:1: duplicate key \"history\" at the top level (first at line 1)");
  EXPECT_EQ(problems(kStream + "    params: { a: x, a: y }\n    path: /events/o/{a}\n"),
            "pb.yaml:4:21: duplicate key \"a\" in streams[0].params (first at line 4)");
}

TEST(ConfigTest, DuplicateStreamNameMentionsTheFirst) {
  EXPECT_EQ(problems(kStream + "  - name: orders\n    url: http://h/other\n"),
            "pb.yaml:4:11: streams[1].name: duplicate stream name \"orders\" (first defined at "
            "line 2)");
}

TEST(ConfigTest, InvalidStreamNames) {
  const std::string rule =
      " is not a valid stream name (1 to 64 of A-Z a-z 0-9 _ . -, not \".\" or \"..\")";
  EXPECT_EQ(problems("streams:\n  - name: my orders\n    url: http://h/\n"),
            "pb.yaml:2:11: streams[0].name: \"my orders\"" + rule);
  EXPECT_EQ(problems("streams:\n  - name: \"..\"\n    url: http://h/\n"),
            "pb.yaml:2:11: streams[0].name: \"..\"" + rule);
  EXPECT_EQ(problems("streams:\n  - name: \"\"\n    url: http://h/\n"),
            "pb.yaml:2:11: streams[0].name: \"\"" + rule);
  const std::string long_name(65, 'a');
  EXPECT_EQ(problems("streams:\n  - name: " + long_name + "\n    url: http://h/\n"),
            "pb.yaml:2:11: streams[0].name: \"" + long_name + "\"" + rule);
  EXPECT_EQ(problems("streams:\n  - name: " + long_name.substr(1) + "\n    url: http://h/\n"), "");
}

// ---------------------------------------------------------------------------
// Types

TEST(ConfigTest, WrongTypesArePositioned) {
  EXPECT_EQ(problems(kStream + "    interval: [1]\n"),
            "pb.yaml:4:15: streams[0].interval: expected a duration like 2s, got a list");
  EXPECT_EQ(problems(kStream + "    url2: 1\n    method: {a: 1}\n"),
            "pb.yaml:4:5: unknown key \"url2\" in streams[0] (did you mean \"url\"?)\n"
            "pb.yaml:5:13: streams[0].method: expected a string, got a map");
  EXPECT_EQ(problems("history: abc\n" + kStream),
            "pb.yaml:1:10: history: expected an integer, got \"abc\"");
  EXPECT_EQ(problems("history: 1.5\n" + kStream),
            "pb.yaml:1:10: history: expected an integer, got \"1.5\"");
  EXPECT_EQ(problems("server: [1]\n" + kStream), "pb.yaml:1:9: server: expected a map, got a list");
  EXPECT_EQ(problems("state: ./data\n" + kStream),
            "pb.yaml:1:8: state: expected a map, got \"./data\"");
  EXPECT_EQ(problems(kStream + "    tls_verify: maybe\n"),
            "pb.yaml:4:17: streams[0].tls_verify: expected true or false, got \"maybe\"");
  EXPECT_EQ(problems(kStream + "    ignore: /a\n"),
            "pb.yaml:4:13: streams[0].ignore: expected a list of JSON pointers, got \"/a\"");
  EXPECT_EQ(problems(kStream + "    headers: [a]\n"),
            "pb.yaml:4:14: streams[0].headers: expected a map, got a list");
  EXPECT_EQ(problems(kStream + "    headers: { X-A: [1] }\n"),
            "pb.yaml:4:21: streams[0].headers.X-A: expected a string, got a list");
  EXPECT_EQ(problems(kStream + "    ignore: [[/a]]\n"),
            "pb.yaml:4:14: streams[0].ignore[0]: expected a string, got a list");
}

TEST(ConfigTest, UpstreamLimitsAndClientCertificate) {
  const Config c =
      parse(kStream + "    max_header_bytes: 16KiB\n    max_connections_per_host: 2\n");
  EXPECT_EQ(c.streams[0].max_header_bytes, 16u << 10);
  EXPECT_EQ(c.streams[0].max_connections_per_host, 2u);
  EXPECT_EQ(problems(kStream + "    max_header_bytes: 100\n"),
            "pb.yaml:4:23: streams[0].max_header_bytes: 100 is out of range 1KiB..1MiB");
  EXPECT_EQ(problems(kStream + "    max_connections_per_host: 0\n"),
            "pb.yaml:4:31: streams[0].max_connections_per_host: 0 is out of range 1..1024");
  TempDir dir;
  const std::string pem = dir.file("c.pem", "not a certificate\n");
  EXPECT_EQ(problems(kStream + "    client_cert: " + pem + "\n"),
            "pb.yaml:4:18: streams[0].client_cert: needs client_key: the private key of the "
            "client certificate");
  EXPECT_EQ(problems(kStream + "    client_key: " + pem + "\n"),
            "pb.yaml:4:17: streams[0].client_key: needs client_cert: the certificate that goes "
            "with the key");
  EXPECT_EQ(problems(kStream + "    client_cert: " + pem + "\n    client_key: \"\"\n"),
            "pb.yaml:5:17: streams[0].client_key: must name a PEM file");
  EXPECT_EQ(problems(kStream + "    client_cert: " + pem + "\n    client_key: " + pem + "\n"),
            "pb.yaml:4:18: streams[0].client_cert: " + pem + " holds no PEM certificate");
}

TEST(ConfigTest, EmptyValueIsReportedAtItsKey) {
  EXPECT_EQ(problems(kStream + "    interval:\n    timeout: 1s\n"),
            "pb.yaml:4:5: streams[0].interval: needs a value");
  EXPECT_EQ(problems(kStream + "    interval: ~\n"),
            "pb.yaml:4:5: streams[0].interval: needs a value");
}

TEST(ConfigTest, IntegersOutOfRangeNameTheRange) {
  EXPECT_EQ(problems("server: { workers: 0 }\n" + kStream),
            "pb.yaml:1:20: server.workers: 0 is out of range 1..256");
  EXPECT_EQ(problems("server: { workers: 257 }\n" + kStream),
            "pb.yaml:1:20: server.workers: 257 is out of range 1..256");
  EXPECT_EQ(problems("server: { hub_threads: -1 }\n" + kStream),
            "pb.yaml:1:24: server.hub_threads: -1 is out of range 0..64");
  EXPECT_EQ(problems("server: { backlog: 65536 }\n" + kStream),
            "pb.yaml:1:20: server.backlog: 65536 is out of range 1..65535");
  EXPECT_EQ(problems("history: 0\n" + kStream),
            "pb.yaml:1:10: history: 0 is out of range 1..1000000");
  EXPECT_EQ(problems("history: 99999999999999999999999\n" + kStream),
            "pb.yaml:1:10: history: 99999999999999999999999 is out of range 1..1000000");
  EXPECT_EQ(problems(kStream + "    history: 1000001\n"),
            "pb.yaml:4:14: streams[0].history: 1000001 is out of range 1..1000000");
  EXPECT_EQ(problems(kStream + "    max_instances: 0\n"),
            "pb.yaml:4:20: streams[0].max_instances: 0 is out of range 1..1000000");
}

TEST(ConfigTest, DurationProblems) {
  EXPECT_EQ(problems(kStream + "    interval: 5\n"),
            "pb.yaml:4:15: streams[0].interval: \"5\" needs a unit: ms, s, m or h");
  EXPECT_EQ(problems(kStream + "    interval: -1s\n"),
            "pb.yaml:4:15: streams[0].interval: \"-1s\" must not be negative");
  EXPECT_EQ(problems(kStream + "    interval: \"\"\n"),
            "pb.yaml:4:15: streams[0].interval: \"\" is empty");
  EXPECT_EQ(problems(kStream + "    interval: 99999999999999999999h\n"),
            "pb.yaml:4:15: streams[0].interval: \"99999999999999999999h\" is too large");
  EXPECT_EQ(problems(kStream + "    timeout: 2 sec\n"),
            "pb.yaml:4:14: streams[0].timeout: \"2 sec\" is not a duration (examples: 250ms, 2s, "
            "1m30s, 1h)");
}

TEST(ConfigTest, DurationsOutOfRangeNameTheRange) {
  EXPECT_EQ(problems(kStream + "    interval: 5ms\n"),
            "pb.yaml:4:15: streams[0].interval: 5ms is out of range 10ms..24h");
  EXPECT_EQ(problems(kStream + "    interval: 25h\n"),
            "pb.yaml:4:15: streams[0].interval: 25h is out of range 10ms..24h");
  EXPECT_EQ(problems(kStream + "    timeout: 11m\n"),
            "pb.yaml:4:14: streams[0].timeout: 11m is out of range 10ms..10m");
  EXPECT_EQ(problems("server: { heartbeat: 500ms }\n" + kStream),
            "pb.yaml:1:22: server.heartbeat: 500ms is out of range 1s..1h");
  EXPECT_EQ(problems("server: { retry: 61m }\n" + kStream),
            "pb.yaml:1:18: server.retry: 61m is out of range 0s..1h");
}

TEST(ConfigTest, SizeProblems) {
  EXPECT_EQ(problems(kStream + "    max_body: 2GiB\n"),
            "pb.yaml:4:15: streams[0].max_body: 2GiB is out of range 1KiB..1GiB");
  EXPECT_EQ(problems(kStream + "    max_body: 512\n"),
            "pb.yaml:4:15: streams[0].max_body: 512 is out of range 1KiB..1GiB");
  EXPECT_EQ(problems(kStream + "    max_body: 4 megabytes\n"),
            "pb.yaml:4:15: streams[0].max_body: \"4 megabytes\" has an unknown unit "
            "\"megabytes\" (use B, KiB, MiB, GiB, KB, MB or GB)");
  EXPECT_EQ(problems("server: { client_backlog_bytes: lots }\n" + kStream),
            "pb.yaml:1:33: server.client_backlog_bytes: \"lots\" is not a size (examples: 65536, "
            "512KiB, 8MiB, 1GB)");
  EXPECT_EQ(problems("history_bytes: 100\n" + kStream),
            "pb.yaml:1:16: history_bytes: 100 is out of range 1KiB..64GiB");
}

TEST(ConfigTest, HistoryBytesHasADefaultAndCanBeSet) {
  EXPECT_EQ(parse(kStream).history_bytes, 64u << 20);
  EXPECT_EQ(parse("history_bytes: 2MiB\n" + kStream).history_bytes, 2u << 20);
}

TEST(ConfigTest, EnumProblems) {
  EXPECT_EQ(problems(kStream + "    method: PUT\n"),
            "pb.yaml:4:13: streams[0].method: \"PUT\" is not supported; use GET or POST");
  EXPECT_EQ(problems(kStream + "    diff: patch\n"),
            "pb.yaml:4:11: streams[0].diff: \"patch\" is not one of snapshot, json-patch, "
            "merge-patch, items, text");
  EXPECT_EQ(problems(kStream + "    idle: pause\n"),
            "pb.yaml:4:11: streams[0].idle: \"pause\" is not one of stop, keep");
}

// ---------------------------------------------------------------------------
// Server values

TEST(ConfigTest, ListenProblems) {
  const auto listen = [](const std::string& value) {
    return problems("server:\n  listen: \"" + value + "\"\n" + kStream);
  };
  const std::string at = "pb.yaml:2:11: server.listen: ";
  EXPECT_EQ(listen("8080"), at + "\"8080\" needs a port (host:port, like 127.0.0.1:8080)");
  EXPECT_EQ(listen(":8080"),
            at + "\":8080\" needs a host (0.0.0.0:PORT listens on every IPv4 interface)");
  EXPECT_EQ(listen("::1:8080"),
            at + "\"::1:8080\" needs brackets around an IPv6 address, like [::1]:8080");
  EXPECT_EQ(listen("localhost:70000"),
            at + "\"localhost:70000\" has port \"70000\"; expected a number from 0 to 65535");
  EXPECT_EQ(listen("localhost:"),
            at + "\"localhost:\" has port \"\"; expected a number from 0 to 65535");
  EXPECT_EQ(listen("[::1]"), at + "\"[::1]\" needs a port after the address, like [::1]:8080");
  EXPECT_EQ(listen("my host:80"), at + "\"my host:80\" has a host with \" \" in it");
  // Found with tests/fuzz/fuzz_config_values (the same check as in URLs):
  // hex digits and colons are not yet an address.
  EXPECT_EQ(listen("[1:2]:80"),
            at + "\"[1:2]:80\" has \"1:2\" in [...], which is not an IPv6 address");
  EXPECT_EQ(listen("[:]:80"), at + "\"[:]:80\" has \":\" in [...], which is not an IPv6 address");
}

TEST(ConfigTest, CorsOriginProblems) {
  EXPECT_EQ(problems("server:\n  cors_origins: [\"https://app.example.com/\"]\n" + kStream),
            "pb.yaml:2:17: server.cors_origins: \"https://app.example.com/\" is not an origin: "
            "drop the path (an origin is scheme://host[:port], without a trailing \"/\")");
  EXPECT_EQ(problems("server:\n  cors_origins: [app.example.com]\n" + kStream),
            "pb.yaml:2:17: server.cors_origins: \"app.example.com\" is not an origin (expected "
            "\"*\" or scheme://host[:port], like https://app.example.com)");
  EXPECT_EQ(problems("server:\n  cors_origins: [\"*\", \"https://a.example\"]\n" + kStream),
            "pb.yaml:2:17: server.cors_origins: \"*\" allows every origin and cannot be combined "
            "with others");
}

TEST(ConfigTest, AdminTokenMustBeOneWord) {
  EXPECT_EQ(problems("server:\n  admin_token: \"two words\"\n" + kStream),
            "pb.yaml:2:16: server.admin_token: must not contain spaces or control characters");
}

TEST(ConfigTest, StaticDirAndCaFileMustExist) {
  TempDir tmp;
  const std::string file = tmp.file("f.txt", "x");
  const std::string missing = tmp.path() + "/nope";
  EXPECT_EQ(problems("server:\n  static_dir: \"" + missing + "\"\n" + kStream),
            "pb.yaml:2:15: server.static_dir: \"" + missing + "\" does not exist");
  EXPECT_EQ(problems("server:\n  static_dir: \"" + file + "\"\n" + kStream),
            "pb.yaml:2:15: server.static_dir: \"" + file + "\" is not a directory");
  EXPECT_EQ(problems(kStream + "    ca_file: \"" + missing + "\"\n"),
            "pb.yaml:4:14: streams[0].ca_file: \"" + missing + "\" does not exist");
  EXPECT_EQ(problems(kStream + "    ca_file: \"" + tmp.path() + "\"\n"),
            "pb.yaml:4:14: streams[0].ca_file: \"" + tmp.path() + "\" is not a regular file");
}

TEST(ConfigTest, RelativeMissingPathNamesTheWorkingDirectory) {
  const std::string cwd = fs::current_path().string();
  EXPECT_EQ(problems("server:\n  static_dir: no-such-dir-for-pb-tests\n" + kStream),
            "pb.yaml:2:15: server.static_dir: \"no-such-dir-for-pb-tests\" does not exist "
            "(relative to the working directory " +
                cwd + ")");
}

// ---------------------------------------------------------------------------
// Upstream request

TEST(ConfigTest, BadUrls) {
  const auto url = [](const std::string& value) {
    return problems("streams:\n  - name: a\n    url: \"" + value + "\"\n");
  };
  const std::string at = "pb.yaml:3:10: streams[0].url: ";
  EXPECT_EQ(url("ftp://example.com/x"),
            at + "\"ftp://example.com/x\" has scheme \"ftp\"; only http:// and https:// are "
                 "supported");
  EXPECT_EQ(url("example.com/x"), at + "\"example.com/x\" must start with http:// or https://");
  EXPECT_EQ(url("http:///x"), at + "\"http:///x\" has no host");
  EXPECT_EQ(url("http://"), at + "\"http://\" has no host");
  EXPECT_EQ(url("http://:80/x"), at + "\"http://:80/x\" has no host");
  EXPECT_EQ(url("http://example.com/a b"),
            at + "\"http://example.com/a b\" must not contain spaces (percent-encode them as %20)");
  EXPECT_EQ(url("http://user:pw@example.com/"),
            at + "\"http://***@example.com/\" must not contain user info (user:password@); "
                 "send credentials in headers (Authorization)");
  EXPECT_EQ(url("http://example.com/#top"),
            at + "\"http://example.com/#top\" must not contain a fragment (#...); it is never "
                 "sent to the server");
  EXPECT_EQ(url("http://example.com:0/"),
            at + "\"http://example.com:0/\" has port \"0\"; expected a number from 1 to 65535");
  EXPECT_EQ(url("http://example.com:http/"),
            at + "\"http://example.com:http/\" has port \"http\"; expected a number from 1 to "
                 "65535");
  EXPECT_EQ(url("http://::1/"),
            at + "\"http://::1/\" needs brackets around an IPv6 address (http://[::1]:8080/)");
  EXPECT_EQ(url("http://exa_mple.com!/"),
            at + "\"http://exa_mple.com!/\" has a host with \"!\" in it");
  EXPECT_EQ(url("http://[::1/"),
            at + "\"http://[::1/\" has an IPv6 address without its closing \"]\"");
  // Found by tests/fuzz/fuzz_config_values: any mix of hex digits, colons
  // and dots passed as an IPv6 address, so the mistake showed only when the
  // first poll failed.
  EXPECT_EQ(url("http://[:EEEEE:1]/"),
            at + "\"http://[:EEEEE:1]/\" has \":EEEEE:1\" in [...], which is not an IPv6 "
                 "address");
  EXPECT_EQ(url("http://[1:2:3:4:5:6:7:8:9]/"),
            at + "\"http://[1:2:3:4:5:6:7:8:9]/\" has \"1:2:3:4:5:6:7:8:9\" in [...], which is "
                 "not an IPv6 address");
  EXPECT_EQ(url("http://example.com/a|b"),
            at + "\"http://example.com/a|b\" contains \"|\", which must be percent-encoded");
  EXPECT_EQ(url("http://example.com/%zz"),
            at + "\"http://example.com/%zz\" has a \"%\" that is not followed by two hex digits");
  EXPECT_EQ(url(""), at + "\"\" is empty (expected http://host[:port]/path)");
}

TEST(ConfigTest, UrlPlaceholdersMustBeDeclaredParams) {
  EXPECT_EQ(problems("streams:\n  - name: a\n    url: http://h/{customer}/{x}/{customer}\n"
                     "    path: /events/a/{customer}\n    params: { customer: \"[0-9]+\" }\n"),
            "pb.yaml:3:10: streams[0].url: uses {x}, which is not declared in streams[0].params");
  EXPECT_EQ(problems("streams:\n  - name: a\n    url: http://{host}/\n"),
            "pb.yaml:3:10: streams[0].url: \"http://{host}/\" may hold placeholders only in its "
            "path and query, not in the host or port");
}

TEST(ConfigTest, BodyOnlyWithPost) {
  EXPECT_EQ(problems(kStream + "    body: '{\"q\":1}'\n"),
            "pb.yaml:4:11: streams[0].body: a body is sent only with method: POST");
  EXPECT_EQ(problems(kStream + "    method: GET\n    body: \"\"\n"), "");
}

TEST(ConfigTest, HeaderProblems) {
  EXPECT_EQ(problems(kStream + "    headers: { \"Bad Name\": x }\n"),
            "pb.yaml:4:16: streams[0].headers: \"Bad Name\" is not a valid header name (letters, "
            "digits and !#$%&'*+-.^_`|~ only)");
  EXPECT_EQ(problems(kStream + "    headers: { X-A: \"a\\r\\nInjected: 1\" }\n"),
            "pb.yaml:4:21: streams[0].headers.X-A: header values must not contain CR, LF, NUL or "
            "other control characters");
  EXPECT_EQ(problems(kStream + "    headers: { X-A: \"a\\0\" }\n"),
            "pb.yaml:4:21: streams[0].headers.X-A: header values must not contain CR, LF, NUL or "
            "other control characters");
  EXPECT_EQ(problems(kStream + "    headers:\n      X-Token: a\n      x-token: b\n"),
            "pb.yaml:6:7: streams[0].headers: x-token is set twice (header names ignore case; "
            "first at line 5)");
  EXPECT_EQ(
      problems(kStream + "    headers: { Content-Type: text/plain }\n"),
      "pb.yaml:4:16: streams[0].headers: Content-Type is set from content_type; use that key");
  EXPECT_EQ(problems(kStream + "    headers: { If-None-Match: x }\n"),
            "pb.yaml:4:16: streams[0].headers: If-None-Match is set by pollbridge from the "
            "previous response (ETag, Last-Modified)");
}

// ---------------------------------------------------------------------------
// Diff options

TEST(ConfigTest, ItemsNeedsAKey) {
  EXPECT_EQ(problems(kStream + "    diff: items\n"),
            "pb.yaml:4:11: streams[0].diff: items needs a key: the member that identifies each "
            "element, like key: id");
  EXPECT_EQ(problems(kStream + "    diff: items\n    key: \"\"\n"),
            "pb.yaml:5:10: streams[0].key: must not be empty with diff: items");
}

TEST(ConfigTest, TextDiffTakesNoJsonOptions) {
  EXPECT_EQ(problems(kStream + "    diff: text\n    select: /a\n    ignore: [/b]\n"),
            "pb.yaml:5:13: streams[0].select: applies to JSON documents and cannot be used with "
            "diff: text\n"
            "pb.yaml:6:13: streams[0].ignore: applies to JSON documents and cannot be used with "
            "diff: text");
  EXPECT_EQ(problems(kStream + "    diff: text\n    select: \"\"\n    ignore: []\n"), "");
  // Nothing parses a text stream's body: a parser there would be ignored.
  EXPECT_EQ(problems(kStream + "    diff: text\n    parse: csv\n"),
            "pb.yaml:5:12: streams[0].parse: reads the body into a document, which diff: text "
            "does not use: drop parse, or use a document diff (snapshot, json-patch, "
            "merge-patch, items)");
  EXPECT_EQ(problems(kStream + "    diff: text\n    parse: json\n"), "");
}

TEST(ConfigTest, PointerProblems) {
  EXPECT_EQ(problems(kStream + "    select: data/orders\n"),
            "pb.yaml:4:13: streams[0].select: \"data/orders\" is not a JSON pointer: a JSON "
            "pointer must be empty or start with '/' (did you mean \"/data/orders\"?)");
  EXPECT_EQ(problems(kStream + "    ignore: [/ok, /a~2b, \"\"]\n"),
            "pb.yaml:4:19: streams[0].ignore[1]: \"/a~2b\" is not a JSON pointer: '~' in a JSON "
            "pointer must be followed by 0 or 1\n"
            "pb.yaml:4:26: streams[0].ignore[2]: \"\" would ignore the whole document");
  EXPECT_EQ(problems(kStream + "    diff: items\n    key: /a~\n"),
            "pb.yaml:5:10: streams[0].key: \"/a~\" is not a JSON pointer: '~' in a JSON pointer "
            "must be followed by 0 or 1");
}

TEST(ConfigTest, BackoffMaxMustCoverTheInterval) {
  EXPECT_EQ(problems(kStream + "    interval: 2m\n    backoff_max: 1m\n"),
            "pb.yaml:5:18: streams[0].backoff_max: 1m is shorter than interval (2m); it must be "
            "at least the interval");
}

// ---------------------------------------------------------------------------
// Paths and params

TEST(ConfigTest, PathMustStartWithEvents) {
  EXPECT_EQ(problems(kStream + "    path: /orders\n"),
            "pb.yaml:4:11: streams[0].path: \"/orders\" must start with \"/events/\"");
  EXPECT_EQ(problems(kStream + "    path: /events/\n"),
            "pb.yaml:4:11: streams[0].path: \"/events/\" needs at least one segment after "
            "\"/events/\"");
  EXPECT_EQ(problems(kStream + "    path: /events/a/../b\n"),
            "pb.yaml:4:11: streams[0].path: \"/events/a/../b\" must not contain \".\" or \"..\" "
            "segments");
}

TEST(ConfigTest, PlaceholderNeedsAParam) {
  EXPECT_EQ(problems(kStream + "    path: /events/orders/{customer}\n"),
            "pb.yaml:4:11: streams[0].path: placeholder {customer} has no regular expression in "
            "streams[0].params");
}

TEST(ConfigTest, ParamMustAppearInPath) {
  EXPECT_EQ(problems(kStream + "    path: /events/orders/{customer}\n"
                               "    params: { customer: \"[0-9]+\", region: \"[a-z]+\" }\n"),
            "pb.yaml:5:13: streams[0].params: parameter \"region\" does not appear in path "
            "\"/events/orders/{customer}\"");
}

TEST(ConfigTest, ParamsWithoutPlaceholdersInPath) {
  EXPECT_EQ(problems(kStream + "    params: { customer: \"[0-9]+\" }\n"),
            "pb.yaml:4:13: streams[0].params: params need {placeholders} in path, like path: "
            "/events/orders/{customer}");
  EXPECT_EQ(problems(kStream + "    path: /events/orders/all\n    params: { customer: \"x\" }\n"),
            "pb.yaml:5:13: streams[0].params: parameter \"customer\" does not appear in path "
            "\"/events/orders/all\"");
}

TEST(ConfigTest, ParamProblems) {
  // The reason in parentheses is std::regex_error::what() and varies with
  // the standard library.
  const std::string bad_regex =
      problems(kStream + "    path: /events/o/{c}\n    params: { c: \"[0-9\" }\n");
  const std::string prefix =
      "pb.yaml:5:18: streams[0].params.c: \"[0-9\" is not a valid regular expression (";
  EXPECT_EQ(bad_regex.substr(0, prefix.size()), prefix);
  EXPECT_EQ(bad_regex.back(), ')');
  EXPECT_EQ(bad_regex.find('\n'), std::string::npos);
  EXPECT_EQ(problems(kStream + "    path: /events/o/{c}\n    params: { c: \"\" }\n"),
            "pb.yaml:5:18: streams[0].params.c: needs a regular expression for the values, like "
            "\"^[0-9]+$\"");
  EXPECT_EQ(problems(kStream + "    path: /events/o/{c}\n    params: { c: x, 1d: y }\n"),
            "pb.yaml:5:21: streams[0].params: \"1d\" is not a valid parameter name "
            "([A-Za-z_][A-Za-z0-9_]*)");
}

TEST(ConfigTest, PlaceholderMustFillASegment) {
  EXPECT_EQ(problems(kStream + "    path: /events/orders-{c}\n    params: { c: x }\n"),
            "pb.yaml:4:11: streams[0].path: \"/events/orders-{c}\" has a placeholder that does "
            "not fill a whole segment (write /events/orders/{customer}, not "
            "/events/orders-{customer})");
}

TEST(ConfigTest, SamePathTwice) {
  EXPECT_EQ(problems(kStream + "    path: /events/x\n"
                               "  - name: b\n    url: http://h/\n    path: /events/x\n"),
            "pb.yaml:7:11: streams[1].path: path \"/events/x\" is already used by stream "
            "\"orders\" (line 4)");
}

TEST(ConfigTest, PatternsIdenticalUpToParamNames) {
  EXPECT_EQ(problems(R"(streams:
  - name: a
    url: http://h/a/{x}
    path: /events/by/{x}
    params: { x: "[0-9]+" }
  - name: b
    url: http://h/b/{y}
    path: /events/by/{y}
    params: { y: "[a-z]+" }
)"),
            "pb.yaml:8:11: streams[1].path: path \"/events/by/{y}\" is the same route as "
            "\"/events/by/{x}\" of stream \"a\" (line 4)");
}

TEST(ConfigTest, PathMustNotTakeAnotherStreamsDefaultPath) {
  // "orders" keeps /events/orders although it is served at a pattern.
  EXPECT_EQ(problems(R"(streams:
  - name: orders
    url: http://h/o/{c}
    path: /events/orders/{c}
    params: { c: "[0-9]+" }
  - name: legacy
    url: http://h/legacy
    path: /events/orders
)"),
            "pb.yaml:8:11: streams[1].path: path \"/events/orders\" collides with "
            "\"/events/orders\", the default path of stream \"orders\" (line 2)");
  // ...and the other way round: a later stream's name is taken by an earlier
  // stream's path.
  EXPECT_EQ(problems(R"(streams:
  - name: legacy
    url: http://h/legacy
    path: /events/orders
  - name: orders
    url: http://h/o/{c}
    path: /events/orders/{c}
    params: { c: "[0-9]+" }
)"),
            "pb.yaml:7:11: streams[1].path: the default path \"/events/orders\" of this stream is "
            "matched by path \"/events/orders\" of stream \"legacy\" (line 4)");
}

TEST(ConfigTest, PatternMatchingAnotherStreamsPath) {
  EXPECT_EQ(problems(R"(streams:
  - name: orders
    url: http://h/orders
  - name: any
    url: http://h/any/{x}
    path: /events/{x}
    params: { x: ".+" }
)"),
            "pb.yaml:6:11: streams[1].path: path \"/events/{x}\" can match the same requests as "
            "\"/events/orders\" of stream \"orders\" (line 2)");
  // A regex that excludes the other stream's segment is fine.
  EXPECT_EQ(problems(R"(streams:
  - name: orders
    url: http://h/orders
  - name: any
    url: http://h/any/{x}
    path: /events/{x}
    params: { x: "[0-9]+" }
)"),
            "");
}

// ---------------------------------------------------------------------------
// Collecting problems

TEST(ConfigTest, SeveralProblemsAreReportedTogetherInFileOrder) {
  const std::string yaml = R"(server:
  listen: "127.0.0.1:99999"
  workers: 0
  colour: blue
history: -5
streams:
  - name: orders
    url: ftp://legacy/orders
    interval: 10
    diff: items
  - name: orders
    url: http://legacy/orders
    headers: { X-Token: "${MISSING}" }
)";
  try {
    parse(yaml);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::vector<std::string> expected = {
        "pb.yaml:2:11: server.listen: \"127.0.0.1:99999\" has port \"99999\"; expected a number "
        "from 0 to 65535",
        "pb.yaml:3:12: server.workers: 0 is out of range 1..256",
        "pb.yaml:4:3: unknown key \"colour\" in server",
        "pb.yaml:5:10: history: -5 is out of range 1..1000000",
        "pb.yaml:8:10: streams[0].url: \"ftp://legacy/orders\" has scheme \"ftp\"; only http:// "
        "and https:// are supported",
        "pb.yaml:9:15: streams[0].interval: \"10\" needs a unit: ms, s, m or h",
        "pb.yaml:10:11: streams[0].diff: items needs a key: the member that identifies each "
        "element, like key: id",
        "pb.yaml:11:11: streams[1].name: duplicate stream name \"orders\" (first defined at line "
        "7)",
        "pb.yaml:13:25: environment variable MISSING is not set",
    };
    EXPECT_EQ(e.problems(), expected);
    std::string joined;
    for (const auto& p : expected) joined += (joined.empty() ? "" : "\n") + p;
    EXPECT_EQ(std::string(e.what()), joined);
  }
}

TEST(ConfigTest, AnAnchorUsedTwiceReportsItsProblemOnce) {
  EXPECT_EQ(problems(R"(streams:
  - name: a
    url: http://h/a
    headers: &h { X-Token: "${MISSING}" }
  - name: b
    url: http://h/b
    headers: *h
)"),
            "pb.yaml:4:28: environment variable MISSING is not set");
}

// ---------------------------------------------------------------------------
// Building blocks

TEST(ConfigSizeTest, ParsesUnits) {
  const auto size = [](const std::string& text) {
    std::uint64_t out = 0;
    std::string why;
    EXPECT_TRUE(parse_size(text, out, why)) << text << ": " << why;
    return out;
  };
  EXPECT_EQ(size("0"), 0u);
  EXPECT_EQ(size("65536"), 65536u);
  EXPECT_EQ(size("10B"), 10u);
  EXPECT_EQ(size("1KB"), 1000u);
  EXPECT_EQ(size("1KiB"), 1024u);
  EXPECT_EQ(size("8MiB"), 8u << 20);
  EXPECT_EQ(size("8 MiB"), 8u << 20);
  EXPECT_EQ(size("8mib"), 8u << 20);
  EXPECT_EQ(size("2MB"), 2000000u);
  EXPECT_EQ(size("1GiB"), 1u << 30);
  EXPECT_EQ(size("3GB"), 3000000000u);
}

TEST(ConfigSizeTest, RejectsWithAReason) {
  const auto why = [](const std::string& text) {
    std::uint64_t out = 0;
    std::string reason;
    EXPECT_FALSE(parse_size(text, out, reason)) << text;
    return reason;
  };
  EXPECT_EQ(why(""), "is empty");
  EXPECT_EQ(why("-1"), "must not be negative");
  EXPECT_EQ(why("1.5MiB"), "has a fraction; use a smaller unit instead (1536KiB, not 1.5MiB)");
  EXPECT_EQ(why("MiB"), "is not a size (examples: 65536, 512KiB, 8MiB, 1GB)");
  EXPECT_EQ(why("1TiB"), "has an unknown unit \"TiB\" (use B, KiB, MiB, GiB, KB, MB or GB)");
  EXPECT_EQ(why("99999999999999999999"), "is too large");
  EXPECT_EQ(why("99999999999GiB"), "is too large");
}

// Found by tests/fuzz/fuzz_config_values: "1 " (a quoted value with a
// trailing space) was read as 1 byte; the space may only precede a unit.
TEST(ConfigSizeTest, RefusesASpaceWithoutAUnit) {
  std::uint64_t out = 7;
  std::string why;
  EXPECT_FALSE(parse_size("1 ", out, why));
  EXPECT_EQ(why, "has an unknown unit \" \" (use B, KiB, MiB, GiB, KB, MB or GB)");
  EXPECT_FALSE(parse_size("8MiB ", out, why));
  EXPECT_FALSE(parse_size("1  B", out, why));
  EXPECT_TRUE(parse_size("1 B", out, why));
  EXPECT_EQ(out, 1u);
}

TEST(ConfigSizeTest, Formats) {
  EXPECT_EQ(format_size(1u << 30), "1GiB");
  EXPECT_EQ(format_size(8u << 20), "8MiB");
  EXPECT_EQ(format_size(1536), "1536B");
  EXPECT_EQ(format_size(1000), "1000B");
  EXPECT_EQ(format_size(0), "0B");
}

TEST(ConfigPathTemplateTest, SplitsIntoSegments) {
  std::vector<PathSegment> segments;
  std::string why;
  ASSERT_TRUE(parse_path_template("/events/orders/{customer}/x%20y", segments, why)) << why;
  EXPECT_EQ(segments,
            (std::vector<PathSegment>{
                {"events", false}, {"orders", false}, {"customer", true}, {"x%20y", false}}));
}

TEST(ConfigPathTemplateTest, RejectsMalformedPaths) {
  const auto why = [](const std::string& path) {
    std::vector<PathSegment> segments;
    std::string reason;
    EXPECT_FALSE(parse_path_template(path, segments, reason)) << path;
    return reason;
  };
  EXPECT_EQ(why("/events//a"), "must not contain an empty segment (\"//\") or end with \"/\"");
  EXPECT_EQ(why("/events/a/"), "must not contain an empty segment (\"//\") or end with \"/\"");
  EXPECT_EQ(why("/events/a?x=1"), "must not contain a query or fragment");
  EXPECT_EQ(why("/events/{a}/{a}"), "uses {a} twice");
  EXPECT_EQ(why("/events/{}"), "has a placeholder \"{}\" whose name is not [A-Za-z_][A-Za-z0-9_]*");
  EXPECT_EQ(why("/events/{a-b}"),
            "has a placeholder \"{a-b}\" whose name is not [A-Za-z_][A-Za-z0-9_]*");
  EXPECT_EQ(why("/events/a b"),
            "contains a space, control or non-ASCII character (percent-encode it)");
  EXPECT_EQ(why("/events/a\"b"), "contains \"\"\", which is not allowed in a URL path");
  EXPECT_EQ(why("/events/%4"), "has a \"%\" that is not followed by two hex digits");
  EXPECT_EQ(why("/Events/a"), "must start with \"/events/\"");
}

TEST(ConfigUrlTest, SplitsIntoParts) {
  UrlParts parts;
  std::string why;
  ASSERT_TRUE(parse_url("HTTPS://[2001:db8::1]:8443/a/{id}?q={q}&x=%20", parts, why)) << why;
  EXPECT_EQ(parts.scheme, "https");
  EXPECT_EQ(parts.host, "2001:db8::1");
  EXPECT_EQ(parts.port, 8443);
  EXPECT_EQ(parts.target, "/a/{id}?q={q}&x=%20");
  EXPECT_EQ(parts.placeholders, (std::vector<std::string>{"id", "q"}));

  ASSERT_TRUE(parse_url("http://example.com", parts, why)) << why;
  EXPECT_EQ(parts.host, "example.com");
  EXPECT_EQ(parts.port, 0);
  EXPECT_EQ(parts.target, "/");

  ASSERT_TRUE(parse_url("http://example.com?x=1", parts, why)) << why;
  EXPECT_EQ(parts.target, "/?x=1");
}

TEST(ConfigUrlTest, RejectsBraceMisuse) {
  UrlParts parts;
  std::string why;
  EXPECT_FALSE(parse_url("http://h/{a", parts, why));
  EXPECT_EQ(why,
            "has a \"{\" that does not start a placeholder like {customer} (percent-encode "
            "it as %7B)");
  EXPECT_FALSE(parse_url("http://h/a}", parts, why));
  EXPECT_EQ(why, "has a \"}\" without a matching \"{\" (percent-encode it as %7D)");
  EXPECT_FALSE(parse_url("http://h/\x01", parts, why));
  EXPECT_EQ(why, "must not contain control characters");
  EXPECT_FALSE(parse_url("http://h/\xc3\xa9", parts, why));
  EXPECT_EQ(why, "must not contain non-ASCII characters (percent-encode them)");
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::config

namespace pb::config {
namespace PB_FILE_LOCAL {

TEST(ConfigFrontDoorTest, DefaultsAreTheDocumentedOnes) {
  const Config c = parse(kStream);
  EXPECT_FALSE(c.server.reuse_port);
  EXPECT_EQ(c.server.header_timeout, seconds(10));
  EXPECT_EQ(c.server.max_header_bytes, 16u << 10);
  EXPECT_EQ(c.server.keepalive_timeout, seconds(60));
  EXPECT_EQ(c.server.keepalive_requests, 1000u);
  EXPECT_EQ(c.server.max_request_body, 64u << 10);
  EXPECT_EQ(c.server.body_timeout, seconds(30));
  EXPECT_EQ(c.server.max_connections, 0u);
  EXPECT_EQ(c.server.max_connections_per_ip, 0u);
  EXPECT_FALSE(c.server.tls.enabled());
}

TEST(ConfigFrontDoorTest, KeysAreReadAndRangeChecked) {
  const Config c = parse(
      "server:\n  reuse_port: true\n  header_timeout: 2s\n  max_header_bytes: 8KiB\n"
      "  keepalive_timeout: 0s\n  keepalive_requests: 5\n  max_request_body: 0\n"
      "  body_timeout: 1s\n  max_connections: 100\n  max_connections_per_ip: 4\n" +
      kStream);
  EXPECT_TRUE(c.server.reuse_port);
  EXPECT_EQ(c.server.header_timeout, seconds(2));
  EXPECT_EQ(c.server.max_header_bytes, 8u << 10);
  EXPECT_EQ(c.server.keepalive_timeout, seconds(0));
  EXPECT_EQ(c.server.keepalive_requests, 5u);
  EXPECT_EQ(c.server.max_request_body, 0u);
  EXPECT_EQ(c.server.body_timeout, seconds(1));
  EXPECT_EQ(c.server.max_connections, 100u);
  EXPECT_EQ(c.server.max_connections_per_ip, 4u);
  EXPECT_EQ(problems("server:\n  max_header_bytes: 100\n" + kStream),
            "pb.yaml:2:21: server.max_header_bytes: 100 is out of range 1KiB..1MiB");
  EXPECT_NE(problems("server:\n  header_timeout: 5ms\n" + kStream).find("header_timeout"),
            std::string::npos);
  EXPECT_NE(problems("server:\n  keepalive_requests: 0\n" + kStream).find("out of range"),
            std::string::npos);
}

TEST(ConfigFrontDoorTest, TlsNeedsExistingCertAndKeyAndRefusesOldVersions) {
  TempDir dir;
  const std::string cert = dir.file("c.pem", "x");
  const std::string key = dir.file("k.pem", "x");
  const Config c = parse("server:\n  tls: { cert: \"" + cert + "\", key: \"" + key +
                         "\", min_version: TLSv1.3, session_tickets: false }\n" + kStream);
  EXPECT_TRUE(c.server.tls.enabled());
  EXPECT_EQ(c.server.tls.cert, cert);
  EXPECT_EQ(c.server.tls.min_version, "1.3");
  EXPECT_FALSE(c.server.tls.session_tickets);
  EXPECT_EQ(c.server.tls.cert_where.rfind("pb.yaml:2:", 0), 0u) << c.server.tls.cert_where;
  EXPECT_NE(problems("server:\n  tls: { cert: \"" + cert + "\" }\n" + kStream).find("needs key"),
            std::string::npos);
  EXPECT_NE(problems("server:\n  tls: { cert: /nope.pem, key: \"" + key + "\" }\n" + kStream)
                .find("\"/nope.pem\" does not exist"),
            std::string::npos);
  EXPECT_NE(problems("server:\n  tls: { cert: \"" + cert + "\", key: \"" + key +
                     "\", min_version: \"1.1\" }\n" + kStream)
                .find("TLS 1.0 and 1.1 are deprecated"),
            std::string::npos);
  EXPECT_NE(problems("server:\n  tls: { cert: \"" + cert + "\", key: \"" + key +
                     "\", min_versoin: \"1.2\" }\n" + kStream)
                .find("did you mean \"min_version\""),
            std::string::npos);
}

TEST(ConfigSecretsTest, ValuesFromTheEnvironmentNeverAppearInProblems) {
  auto env = env_of({{"LEGACY_PASS", "s3cr3t-Pa55"}, {"TOKEN", "tok-123456"}});
  std::string text = problems(
      "streams:\n"
      "  - name: orders\n"
      "    url: https://bob:${LEGACY_PASS}@legacy.example.com/api\n"
      "    headers: { \"Bad Name\": \"${TOKEN}\", X-Token: \"${TOKEN}\\n\" }\n"
      "    interval: ${TOKEN}\n",
      env);
  EXPECT_NE(text, "");
  EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << text;
  EXPECT_EQ(text.find("tok-123456"), std::string::npos) << text;
  EXPECT_NE(text.find("pb.yaml:3:10:"), std::string::npos) << "still says where: " << text;
}

// Found by tests/fuzz/fuzz_config_file: quote() writes a value with a line
// break, a '"' or a '\\' escaped, and cuts a long one, so the value as
// substituted was not found in the message and went out whole or in part.
TEST(ConfigSecretsTest, ValuesAreHiddenAsQuoteWritesThemToo) {
  const std::string long_secret = "s3cr3t-" + std::string(100, 'x');
  auto env = env_of({{"LINES", "s3cr3t\nline 2"}, {"QUOTED", "s3\"cr3t\\"}, {"LONG", long_secret}});
  const std::string text = problems(
      "streams:\n"
      "  - name: a\n"
      "    url: http://h/\n"
      "    interval: \"${LINES}\"\n"
      "    timeout: \"${QUOTED}\"\n"
      "    linger: "
      "\"0123456789012345678901234567890123456789012345678901234567890123456789${LONG}\"\n",
      env);
  EXPECT_EQ(text.find("s3"), std::string::npos) << text;
  EXPECT_EQ(text.find("xxx"), std::string::npos) << text;
  EXPECT_NE(text.find("pb.yaml:4:15: streams[0].interval: \"***\" is not a duration"),
            std::string::npos)
      << text;
}

TEST(ConfigSecretsTest, UrlUserInfoAndQueryValuesAreNotShownEvenWhenWrittenLiterally) {
  std::string text = problems(
      "streams:\n"
      "  - name: orders\n"
      "    url: https://bob:hunter2@legacy.example.com/api?key=abcd1234&x=1 bad\n");
  EXPECT_NE(text, "");
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_EQ(text.find("abcd1234"), std::string::npos) << text;
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::config
