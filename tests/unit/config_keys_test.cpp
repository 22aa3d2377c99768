// config/keys.h, the one description of the configuration: every field of
// the config structs has a row, every key is documented, the documented
// restart keys are the table's, the loader knows every key, and a reload's
// diff names what changed by its full path.
#include "config/keys.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>

#include "config/loader.h"
#include "support/file_local.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using config::Apply;

// How many members an aggregate has: the most initializers T{...} takes.
struct AnyValue {
  template <class T>
  operator T() const;  // declared only: used in unevaluated contexts
};
template <class T, class... A>
constexpr auto brace_initializable(int) -> decltype(T{std::declval<A>()...}, true) {
  return true;
}
template <class T, class... A>
constexpr bool brace_initializable(...) {
  return false;
}
template <class T, class... A>
constexpr std::size_t field_count() {
  if constexpr (brace_initializable<T, A..., AnyValue>(0)) {
    return field_count<T, A..., AnyValue>();
  } else {
    return sizeof...(A);
  }
}

struct Probe {
  int a;
  std::string b;
  std::vector<int> c;
};
static_assert(field_count<Probe>() == 3, "the member counter works on this compiler");

// Member names named by the table below each struct's path.
std::map<std::string, std::set<std::string>> members_by_struct() {
  std::map<std::string, std::set<std::string>> out;
  auto add = [&](std::string_view field) {
    std::string path(field);
    std::size_t start = 0;
    std::string parent;
    for (;;) {
      const std::size_t dot = path.find('.', start);
      const std::string name = path.substr(start, dot == std::string::npos ? dot : dot - start);
      // "keys[]" is the member "keys" of its struct, and the struct of its
      // entries is "...keys[]".
      const bool list = name.size() > 2 && name.compare(name.size() - 2, 2, "[]") == 0;
      out[parent].insert(list ? name.substr(0, name.size() - 2) : name);
      if (dot == std::string::npos) break;
      parent = path.substr(0, dot);
      start = dot + 1;
    }
  };
  for (const auto& k : config::keys()) {
    std::istringstream in{std::string(k.fields)};
    std::string f;
    while (in >> f) add(f);
  }
  for (auto f : config::fields_without_key()) add(f);
  return out;
}

TEST(ConfigKeysTest, EveryFieldOfTheConfigStructsHasARow) {
  const auto m = members_by_struct();
  auto count = [&](const std::string& s) {
    auto it = m.find(s);
    return it == m.end() ? std::size_t{0} : it->second.size();
  };
  const std::string hint = " (add its row to src/config/keys.cpp)";
  EXPECT_EQ(count(""), field_count<config::Config>()) << "Config" << hint;
  EXPECT_EQ(count("server"), field_count<config::ServerConfig>()) << "ServerConfig" << hint;
  EXPECT_EQ(count("server.tls"), field_count<config::TlsConfig>()) << "TlsConfig" << hint;
  EXPECT_EQ(count("state"), field_count<config::StateConfig>()) << "StateConfig" << hint;
  EXPECT_EQ(count("log"), field_count<config::LogConfig>()) << "LogConfig" << hint;
  EXPECT_EQ(count("auth"), field_count<config::AuthConfig>()) << "AuthConfig" << hint;
  EXPECT_EQ(count("auth.jwt"), field_count<config::JwtConfig>()) << "JwtConfig" << hint;
  EXPECT_EQ(count("auth.jwt.keys[]"), field_count<config::JwtKeyConfig>())
      << "JwtKeyConfig" << hint;
  EXPECT_EQ(count("streams[]"), field_count<config::StreamConfig>()) << "StreamConfig" << hint;
  EXPECT_EQ(count("streams[].auth"), field_count<config::StreamAuth>()) << "StreamAuth" << hint;
  EXPECT_EQ(count("streams[].csv"), field_count<config::CsvOptions>()) << "CsvOptions" << hint;
  EXPECT_EQ(count("streams[].html"), field_count<config::HtmlOptions>()) << "HtmlOptions" << hint;
  EXPECT_EQ(count("streams[].pages"), field_count<config::PagesConfig>()) << "PagesConfig" << hint;
  EXPECT_EQ(count("streams[].oauth2"), field_count<config::OAuth2Config>())
      << "OAuth2Config" << hint;
  EXPECT_EQ(count("streams[].login"), field_count<config::LoginConfig>()) << "LoginConfig" << hint;
}

std::string read_doc() {
  std::ifstream in(std::string(PB_SOURCE_DIR) + "/docs/configuration.md");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ConfigKeysTest, EveryKeyIsDocumentedAndTheRestartListIsTheTables) {
  const std::string doc = read_doc();
  ASSERT_FALSE(doc.empty());
  for (const auto& k : config::keys()) {
    // A key's table is its section's: it is named there by its last part
    // (`listen`) or by its path within the section (`jwt.keys[].alg`).
    const std::string path(k.path);
    const std::size_t last = path.rfind('.'), first = path.find('.');
    const std::string leaf = last == std::string::npos ? path : path.substr(last + 1);
    const std::string within = first == std::string::npos ? path : path.substr(first + 1);
    EXPECT_TRUE(doc.find("`" + leaf + "`") != std::string::npos ||
                doc.find("`" + within + "`") != std::string::npos)
        << k.path << " is not documented";
  }
  // docs/configuration.md, "What a reload applies": the restart keys, in
  // backquotes, between its heading and the next.
  const std::size_t start = doc.find("## What a reload applies");
  ASSERT_NE(start, std::string::npos);
  const std::size_t list = doc.find("Only at the next start:", start);
  ASSERT_NE(list, std::string::npos);
  const std::size_t end = doc.find('\n', list);
  std::set<std::string> documented;
  for (std::size_t i = doc.find('`', list); i < end; i = doc.find('`', i)) {
    const std::size_t close = doc.find('`', i + 1);
    documented.insert(doc.substr(i + 1, close - i - 1));
    i = close + 1;
  }
  std::set<std::string> table{"server.tls (turning it on or off)"};
  for (const auto& k : config::keys()) {
    if (k.apply == Apply::kRestart) table.insert(std::string(k.path));
  }
  EXPECT_EQ(documented, table);
}

TEST(ConfigKeysTest, TheLoaderKnowsEveryKeyOfTheTable) {
  // max_instances_per_client was documented but refused as unknown while
  // the loader kept its own list of keys.
  auto cfg = config::parse_config(
      config_with("  - name: p\n    url: http://127.0.0.1:9/p/{id}\n    path: /events/p/{id}\n"
                  "    params: { id: \"^[0-9]+$\" }\n    max_instances_per_client: 3\n"),
      "keys.yaml", config::EnvLookup([](const std::string&) { return std::nullopt; }));
  EXPECT_EQ(cfg.streams.at(0).max_instances_per_client, 3u);
  for (const char* section : {"", "server", "server.tls", "state", "log", "auth", "auth.jwt",
                              "auth.jwt.keys[]", "streams[]", "streams[].csv", "streams[].html"}) {
    EXPECT_FALSE(config::child_keys(section).empty()) << section;
  }
  try {
    config::parse_config(
        config_with("  - name: s\n    url: http://127.0.0.1:9/\n    intervl: 1s\n"), "keys.yaml",
        config::EnvLookup([](const std::string&) { return std::nullopt; }));
    FAIL() << "an unknown key was taken";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(e.problems().at(0).find("did you mean \"interval\"?"), std::string::npos)
        << e.problems().at(0);
  }
}

TEST(ConfigKeysTest, TheDiffNamesEveryChangeByItsPathAndKeepsRestartValues) {
  config::Config started;
  started.streams.emplace_back();
  config::Config next = started;
  next.server.cors_origins = {"https://b.example"};
  next.server.retry = config::Duration(2000);
  next.history = 5;
  next.server.workers = 3;
  next.state.dir = "/elsewhere";
  next.server.port = 9999;
  next.server.tls.cert = "/some/cert.pem";  // turns TLS on
  const auto d = config::diff_config(started, started, next);
  EXPECT_EQ(d.live, (std::vector<std::string>{"history", "server.retry", "server.cors_origins"}));
  EXPECT_EQ(d.needs_restart, (std::vector<std::string>{"server.tls", "server.listen",
                                                       "server.workers", "state.dir"}));
  const config::Config running = config::in_force(started, next);
  EXPECT_EQ(running.server.workers, started.server.workers);
  EXPECT_EQ(running.state.dir, started.state.dir);
  EXPECT_EQ(running.server.port, started.server.port);
  EXPECT_FALSE(running.server.tls.enabled());
  EXPECT_EQ(running.server.retry, config::Duration(2000));
  // Reloading the same file again: the live keys are in force (nothing to
  // apply), the restart keys are still waiting.
  const auto again = config::diff_config(running, started, next);
  EXPECT_TRUE(again.live.empty());
  EXPECT_EQ(again.needs_restart.size(), 4u);

  config::StreamConfig a, b;
  b = a;
  b.history = 7;
  EXPECT_EQ(config::stream_key_changes(a, b).live, std::vector<std::string>{"streams[].history"});
  EXPECT_TRUE(config::stream_key_changes(a, b).replace.empty());
  b.auth.persist = false;
  EXPECT_EQ(config::stream_key_changes(a, b).replace,
            std::vector<std::string>{"streams[].persist"});
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
