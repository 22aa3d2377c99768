// ${VAR} substitution in the config file.
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

}  // namespace PB_FILE_LOCAL
}  // namespace pb::config
