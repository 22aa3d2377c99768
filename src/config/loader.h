// Loading the YAML config file into pb::config::Config.
//
// Every problem in the file is collected and reported together; a config
// that loads is complete (all defaults filled in) and valid.
//
// Threads: App::load, on the main thread (start, --check, SIGHUP) or on
// the HTTP worker running POST /admin/reload.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/env.h"

namespace pb::config {

// Thrown when the config cannot be loaded. Each problem reads
// "file:line:col: what is wrong" (1-based; "path: cannot read: <reason>"
// when the file itself cannot be read); what() is the problems joined with
// '\n', in file order.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const noexcept { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// Reads and validates the file at `path`, expanding ${VAR} references from
// the process environment. Throws ConfigError.
Config load_config(const std::string& path);

// Same as above with the environment supplied by the caller.
Config load_config(const std::string& path, const EnvLookup& getenv);

// Validates YAML text; `file_name` is used in messages and as Config::file.
// Relative paths in the config (state.dir, server.static_dir, ca_file) are
// relative to the process working directory; those that must exist are
// checked. Throws ConfigError.
Config parse_config(const std::string& yaml_text, const std::string& file_name,
                    const EnvLookup& getenv);

}  // namespace pb::config
