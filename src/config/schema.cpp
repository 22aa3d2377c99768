#include "config/schema.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <map>

#include "config/keys.h"

namespace pb::config {
namespace {

using nlohmann::ordered_json;

constexpr char kEnvPattern[] = R"(\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\})";
// parse_duration's grammar: h, m, s, ms groups, largest first, each once.
constexpr char kDurationPattern[] = R"(^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$)";
// parse_size's grammar: bytes, or one of B KB MB GB KiB MiB GiB in any case.
constexpr char kSizePattern[] = R"(^[0-9]+( ?([bB]|[kKmMgG][iI]?[bB]))?$)";
constexpr char kIntegerPattern[] = R"(^[+-]?[0-9]+$)";
constexpr char kBoolPattern[] =
    R"(^([tT][rR][uU][eE]|[fF][aA][lL][sS][eE]|[yY][eE][sS]|[nN][oO]|[oO][nN]|[oO][fF][fF])$)";
constexpr char kListenPattern[] = R"(^(\[[0-9A-Fa-f:.]+\]|[^\[\]:\s]*):[0-9]{1,5}$)";

ordered_json ref(const char* name) {
  return {{"$ref", std::string("#/$defs/") + name}};
}

ordered_json string_with(const char* pattern) {
  return {{"type", "string"}, {"pattern", pattern}};
}

std::string_view parent_of(std::string_view path) {
  const std::size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

std::string_view name_of(std::string_view path) {
  const std::size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

std::vector<std::string> split_values(std::string_view range) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t bar = range.find(" | ", start);
    out.emplace_back(range.substr(start, bar == std::string_view::npos ? bar : bar - start));
    if (bar == std::string_view::npos) return out;
    start = bar + 3;
  }
}

// "get" -> "[gG][eE][tT]": what the loader accepts in any case.
std::string any_case(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalpha(u)) {
      out += '[';
      out += static_cast<char>(std::tolower(u));
      out += static_cast<char>(std::toupper(u));
      out += ']';
    } else if (std::isalnum(u) || c == '-' || c == '_') {
      out += c;
    } else {
      out += '\\';
      out += c;
    }
  }
  return out;
}

ordered_json values_schema(const Key& k) {
  const std::vector<std::string> values = split_values(k.range);
  ordered_json listed = ordered_json::array();
  for (const auto& v : values) listed.push_back(v);
  // YAML reads an unquoted 1.3 as a number; the loader reads its text.
  for (const auto& v : values) {
    if (!v.empty() && v.find_first_not_of("0123456789.") == std::string::npos) {
      listed.push_back(ordered_json::parse(v));
    }
  }
  ordered_json any = ordered_json::array({{{"enum", listed}}});
  if ((k.flags & kAnyCase) != 0) {
    std::string alternatives;
    for (const auto& v : values) alternatives += (alternatives.empty() ? "" : "|") + any_case(v);
    any.push_back(string_with(("^(" + alternatives + ")$").c_str()));
  }
  any.push_back(ref("env"));
  return {{"anyOf", any}};
}

// The schema of one value of a scalar key (or one element of a list).
ordered_json scalar_schema(const Key& k) {
  if ((k.flags & kValues) != 0) return values_schema(k);
  switch (k.type) {
    case KeyType::kInteger: {
      ordered_json integer = {{"type", "integer"}};
      long long lo = 0;
      long long hi = 0;
      if (std::sscanf(std::string(k.range).c_str(), "%lld..%lld", &lo, &hi) == 2) {
        integer["minimum"] = lo;
        integer["maximum"] = hi;
      }
      return {{"anyOf", {integer, string_with(kIntegerPattern), ref("env")}}};
    }
    case KeyType::kBool:
      return ref("boolean");
    case KeyType::kDuration:
      return ref("duration");
    case KeyType::kSize:
      return ref("size");
    case KeyType::kListen:
      return ref("listen");
    default:
      return ref("text");
  }
}

ordered_json default_of(const Key& k) {
  const std::string text(k.default_value);
  if (text.empty() || text.find('<') != std::string::npos) return nullptr;
  switch (k.type) {
    case KeyType::kInteger:
      return ordered_json::parse(text);
    case KeyType::kBool:
      return text == "true";
    case KeyType::kStringList: {
      if (text == "[]") return ordered_json::array();
      if (text.front() == '[' && text.back() == ']') {
        return ordered_json::array({text.substr(1, text.size() - 2)});
      }
      return text;
    }
    case KeyType::kStringMap:
      return ordered_json::object();
    case KeyType::kSection:
    case KeyType::kSectionList:
      return nullptr;
    default:
      return text;
  }
}

std::string description_of(const Key& k) {
  std::string out(k.description);
  if (!k.range.empty() && (k.flags & kValues) == 0) out += " Range: " + std::string(k.range) + ".";
  if (k.apply == Apply::kRestart) out += " A change needs a restart.";
  return out;
}

ordered_json object_of(std::string_view section);

ordered_json key_schema(const Key& k) {
  ordered_json out;
  switch (k.type) {
    case KeyType::kSection:
      out = object_of(k.path);
      break;
    case KeyType::kSectionList:
      out = {{"type", "array"}, {"minItems", 1}, {"items", object_of(std::string(k.path) + "[]")}};
      break;
    case KeyType::kStringMap:
      out = {{"type", "object"}, {"additionalProperties", ref("text")}};
      break;
    case KeyType::kStringList: {
      ordered_json list = {{"type", "array"}, {"items", scalar_schema(k)}};
      if ((k.flags & kListOnly) != 0) {
        out = list;
      } else {
        out = {{"anyOf", {scalar_schema(k), list}}};
      }
      break;
    }
    default:
      out = scalar_schema(k);
  }
  // $ref with siblings is fine in 2020-12; keep the annotations first.
  ordered_json annotated = {{"description", description_of(k)}};
  if (ordered_json d = default_of(k); !d.is_null()) annotated["default"] = d;
  annotated.update(out);
  return annotated;
}

// The map whose keys are the rows below `section` ("" for the top level,
// "server", "streams[]").
ordered_json object_of(std::string_view section) {
  ordered_json properties = ordered_json::object();
  ordered_json required = ordered_json::array();
  for (const Key& k : keys()) {
    if (parent_of(k.path) != section) continue;
    const std::string name(name_of(k.path));
    properties[name] = key_schema(k);
    if ((k.flags & kRequired) != 0) required.push_back(name);
  }
  ordered_json out = {{"type", "object"}, {"properties", properties}};
  if (!required.empty()) out["required"] = required;
  out["additionalProperties"] = false;
  return out;
}

ordered_json definitions() {
  ordered_json env = string_with(kEnvPattern);
  env["description"] = "A value with a ${VAR} or ${VAR:-default} reference, expanded at load.";
  return {
      {"env", env},
      {"text",
       {{"description", "Text; YAML numbers and booleans are read as their text."},
        {"type", {"string", "number", "boolean"}}}},
      {"boolean", {{"anyOf", {{{"type", "boolean"}}, string_with(kBoolPattern), ref("env")}}}},
      {"duration",
       {{"description", "A duration: 250ms, 2s, 1m30s, 1h (a unit is required)."},
        {"anyOf", {string_with(kDurationPattern), ref("env")}}}},
      {"size",
       {{"description", "A size: bytes, or 64KiB, 8MiB, 1GiB, 1KB, 4MB, 1GB."},
        {"anyOf", {{{"type", "integer"}, {"minimum", 0}}, string_with(kSizePattern), ref("env")}}}},
      {"listen",
       {{"description", "host:port; IPv6 in brackets: [::1]:8080."},
        {"anyOf", {string_with(kListenPattern), ref("env")}}}},
  };
}

}  // namespace

std::string json_schema() {
  ordered_json schema = {
      {"$schema", "https://json-schema.org/draft/2020-12/schema"},
      {"title", "pollbridge configuration (pollbridge " PB_VERSION ")"},
      {"description",
       "The YAML file pollbridge --config reads. Generated by pollbridge --print-schema "
       "from the table of keys; pollbridge --check checks what a schema cannot."},
  };
  schema.update(object_of(""));
  schema["$defs"] = definitions();
  return schema.dump(2) + "\n";
}

}  // namespace pb::config
