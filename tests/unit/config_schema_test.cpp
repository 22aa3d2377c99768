// The JSON Schema of the configuration (config/schema.h) and the manual page
// pollbridge.yaml(5) (config/man_page.h), both generated from the table of
// keys: the schema has draft 2020-12's structure, every key of keys() is in
// it (and in the page), unknown keys are refused everywhere, and its
// duration and size patterns accept exactly what the loader's parsers
// accept. tests/schema/check_schema.py validates the repository's configs
// with an independent validator.
#include "config/schema.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>
#include <string>
#include <vector>

#include "config/duration.h"
#include "config/keys.h"
#include "config/man_page.h"
#include "support/file_local.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using nlohmann::json;

const json& schema() {
  static const json parsed = json::parse(config::json_schema());
  return parsed;
}

// The schema of the key at `path` ("streams[].csv.header"), or null.
const json* find_property(const json& root, const std::string& path) {
  const json* at = &root;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = path.find('.', start);
    std::string name = path.substr(start, dot == std::string::npos ? dot : dot - start);
    const bool list = name.size() > 2 && name.compare(name.size() - 2, 2, "[]") == 0;
    if (list) name.resize(name.size() - 2);
    if (!at->contains("properties") || !(*at)["properties"].contains(name)) return nullptr;
    at = &(*at)["properties"][name];
    if (list) at = &(*at)["items"];
    if (dot == std::string::npos) return at;
    start = dot + 1;
  }
}

// Every object schema below `node`: its additionalProperties must be false.
void check_objects(const json& node, const std::string& where, int& objects) {
  if (node.is_object()) {
    if (node.contains("properties")) {
      ++objects;
      EXPECT_EQ(node.value("additionalProperties", json(true)), json(false)) << where;
    }
    if (node.contains("$ref")) {
      const std::string ref = node["$ref"];
      ASSERT_EQ(ref.rfind("#/$defs/", 0), 0u) << where;
      EXPECT_TRUE(schema()["$defs"].contains(ref.substr(8))) << where << ": " << ref;
    }
    if (node.contains("pattern")) {
      // ECMA 262 regular expressions, as the specification says.
      EXPECT_NO_THROW(std::regex(node["pattern"].get<std::string>(), std::regex::ECMAScript))
          << where;
    }
    for (const auto& [name, child] : node.items())
      check_objects(child, where + "/" + name, objects);
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      check_objects(node[i], where + "/" + std::to_string(i), objects);
    }
  }
}

TEST(ConfigSchemaTest, IsADraft2020SchemaOfAMapThatRefusesUnknownKeys) {
  const json& s = schema();
  EXPECT_EQ(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
  EXPECT_EQ(s["type"], "object");
  EXPECT_EQ(s["required"], json::array({"streams"}));
  int objects = 0;
  check_objects(s, "", objects);
  EXPECT_GE(objects, 10);  // top, server, tls, state, log, auth, jwt, keys[], streams[], ...
}

TEST(ConfigSchemaTest, EveryKeyOfTheTableIsInItWithItsDescriptionAndRequirement) {
  for (const config::Key& k : config::keys()) {
    const std::string path(k.path);
    const json* property = find_property(schema(), path);
    ASSERT_NE(property, nullptr) << path;
    EXPECT_FALSE(property->value("description", "").empty()) << path;
    EXPECT_FALSE(k.description.empty()) << path;
    const std::size_t dot = path.rfind('.');
    const std::string parent = dot == std::string::npos ? "" : path.substr(0, dot);
    const std::string name = path.substr(dot == std::string::npos ? 0 : dot + 1);
    const json* owner = parent.empty() ? &schema() : find_property(schema(), parent);
    ASSERT_NE(owner, nullptr) << parent;
    if (owner->contains("items")) owner = &(*owner)["items"];
    const json required = owner->value("required", json::array());
    const bool listed = std::find(required.begin(), required.end(), name) != required.end();
    EXPECT_EQ(listed, (k.flags & config::kRequired) != 0) << path;
  }
}

TEST(ConfigSchemaTest, AllowedValuesAreListedAndFollowTheLoadersCase) {
  const json* method = find_property(schema(), "streams[].method");
  ASSERT_NE(method, nullptr);
  EXPECT_EQ((*method)["anyOf"][0]["enum"], json::array({"GET", "POST"}));
  const std::regex any_case((*method)["anyOf"][1]["pattern"].get<std::string>());
  EXPECT_TRUE(std::regex_search("post", any_case));
  EXPECT_FALSE(std::regex_search("PUT", any_case));
  // YAML reads an unquoted 1.3 as a number.
  const json* tls = find_property(schema(), "server.tls.min_version");
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ((*tls)["anyOf"][0]["enum"], json::array({"1.2", "1.3", 1.2, 1.3}));
  // log.format is compared exactly by the loader: no other case.
  const json* format = find_property(schema(), "log.format");
  ASSERT_NE(format, nullptr);
  EXPECT_EQ((*format)["anyOf"].size(), 2u);  // the values and ${VAR}
}

std::string pattern_of(const char* def) {
  return schema()["$defs"][def]["anyOf"][0]["pattern"];
}
std::string size_pattern() {
  return schema()["$defs"]["size"]["anyOf"][1]["pattern"];
}

TEST(ConfigSchemaTest, DurationPatternAcceptsWhatTheLoaderParses) {
  const std::regex pattern(pattern_of("duration"));
  for (const char* text : {"250ms", "2s", "1m30s", "1h", "1h30m", "0s", "1h2m3s4ms", "5", "1.5s",
                           "30s1m", "1m1m", "ms", "", "-1s", "1 s", "2S", "1d", "10sms"}) {
    config::Duration d{};
    std::string why;
    EXPECT_EQ(std::regex_search(text, pattern), config::parse_duration(text, d, why)) << text;
  }
}

TEST(ConfigSchemaTest, SizePatternAcceptsWhatTheLoaderParses) {
  const std::regex pattern(size_pattern());
  for (const char* text : {"65536", "64KiB", "8MiB", "1GiB", "1KB", "4mb", "1 GB", "10B", "1.5MiB",
                           "1TiB", "", "KiB", "1  KiB", "-1", "1kib", "2 b"}) {
    std::uint64_t n = 0;
    std::string why;
    EXPECT_EQ(std::regex_search(text, pattern), config::parse_size(text, n, why)) << text;
  }
}

TEST(ConfigSchemaTest, TheManualPageNamesEveryKey) {
  const std::string page = config::yaml_man_page();
  EXPECT_EQ(page.rfind(".TH POLLBRIDGE.YAML 5 ", 0), 0u);
  for (const config::Key& k : config::keys()) {
    std::string escaped;
    for (char c : k.path) escaped += c == '-' ? std::string("\\-") : std::string(1, c);
    EXPECT_NE(page.find("\n.B " + escaped + "\n"), std::string::npos) << k.path;
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
