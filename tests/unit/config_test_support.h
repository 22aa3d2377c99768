// Helpers of the config loader's tests (tests/unit/config_*_test.cpp): parsing
// a YAML text with a chosen environment, the problems it reports, a minimal
// valid stream, and a scratch directory.
//
// Threads: the test's thread.
#pragma once

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

namespace pb::config::config_test {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

inline std::optional<std::string> no_env(const std::string&) {
  return std::nullopt;
}

inline EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

inline Config parse(const std::string& yaml, const EnvLookup& env = EnvLookup(no_env)) {
  return parse_config(yaml, "pb.yaml", env);
}

// Every problem reported for `yaml`, one per line; "" when it loads.
inline std::string problems(const std::string& yaml, const EnvLookup& env = EnvLookup(no_env)) {
  try {
    parse_config(yaml, "pb.yaml", env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// A valid one-stream config; tests append keys to the stream (lines 4+,
// values at column 5).
inline const std::string kStream =
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

}  // namespace pb::config::config_test
