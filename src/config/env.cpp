#include "config/env.h"

#include <cstdlib>

namespace pb::config {
namespace {

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

bool is_valid_name(std::string_view name) {
  if (name.empty() || !is_name_start(name[0])) return false;
  for (char c : name) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::string expand_env(std::string_view text, const EnvLookup& lookup,
                       std::vector<std::string>& problems) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out.push_back(c);
      ++i;
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      problems.push_back("unterminated \"${\" (write \"$${\" for a literal \"${\")");
      return out;
    }
    const std::string_view inside = text.substr(i + 2, close - i - 2);
    const std::size_t dash = inside.find(":-");
    const std::string_view name = inside.substr(0, dash);
    if (!is_valid_name(name)) {
      problems.push_back("\"${" + std::string(inside) +
                         "}\" does not name an environment variable (names are "
                         "[A-Za-z_][A-Za-z0-9_]*; write \"$${\" for a literal \"${\")");
    } else {
      std::optional<std::string> value = lookup(std::string(name));
      if (dash != std::string_view::npos) {
        out += value && !value->empty() ? *value : std::string(inside.substr(dash + 2));
      } else if (value) {
        out += *value;
      } else {
        problems.push_back("environment variable " + std::string(name) + " is not set");
      }
    }
    i = close + 1;
  }
  return out;
}

}  // namespace pb::config
