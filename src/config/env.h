// ${VAR} substitution in config values.
//
// Pure apart from the lookup function it is given; callable from any thread
// if the lookup is.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pb::config {

// Returns the value of an environment variable, or nullopt if it is unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment (std::getenv).
std::optional<std::string> process_env(const std::string& name);

// Expands references in `text`:
//   ${NAME}           the variable's value; an unset variable is a problem
//   ${NAME:-default}  the value, or `default` (literal text without '}') when
//                     the variable is unset or empty
//   $${               a literal "${"
// Any other '$' is kept as is. NAME is [A-Za-z_][A-Za-z0-9_]*. Every bad
// reference appends one message to `problems` (for example "environment
// variable LEGACY_TOKEN is not set"); the returned text is then meaningless.
std::string expand_env(std::string_view text, const EnvLookup& lookup,
                       std::vector<std::string>& problems);

}  // namespace pb::config
