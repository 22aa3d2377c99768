// The config loader's problems with the file and the server keys: syntax,
// unknown and duplicate keys, types, ranges, listen addresses and paths.
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

}  // namespace PB_FILE_LOCAL
}  // namespace pb::config
