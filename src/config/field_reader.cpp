#include "config/field_reader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "common/ascii.h"
#include "config/duration.h"
#include "json/pointer.h"

namespace pb::config {
namespace {

namespace fs = std::filesystem;

// Unknown keys get a suggestion when a known key is this close.
constexpr std::size_t kMaxSuggestionDistance = 2;

// Optimal string alignment distance (Levenshtein plus adjacent swaps).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

Pos pos_of(const YAML::Mark& mark) {
  if (mark.line < 0 || mark.column < 0) return Pos{};
  return Pos{mark.line + 1, mark.column + 1};
}

namespace {

// Appends `c`, a control character written as \n, \r, \t or \xNN.
void append_visible(std::string& out, unsigned char c) {
  if (c == '\n') {
    out += "\\n";
  } else if (c == '\r') {
    out += "\\r";
  } else if (c == '\t') {
    out += "\\t";
  } else if (c < 0x20 || c == 0x7f) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  } else {
    out += static_cast<char>(c);
  }
}

}  // namespace

std::string quote(std::string_view text) {
  constexpr std::size_t kMaxQuoted = 80;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == kMaxQuoted) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') out += '\\';
    append_visible(out, c);
  }
  out += '"';
  return out;
}

std::string visible(std::string_view text) {
  std::string out;
  for (char c : text) append_visible(out, static_cast<unsigned char>(c));
  return out;
}

std::string kind_of(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return quote(node.Scalar());
    default:
      return "nothing";
  }
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}
std::optional<std::string> suggest(const std::string& key, const std::vector<std::string>& known) {
  std::optional<std::string> best;
  std::size_t best_distance = kMaxSuggestionDistance + 1;
  for (const auto& candidate : known) {
    const std::size_t d = edit_distance(lowercase(key), candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

bool parse_integer(std::string_view text, long long& out, bool& overflow) {
  overflow = false;
  std::size_t i = 0;
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    i = 1;
  }
  if (i == text.size()) return false;
  unsigned long long value = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    if (value > (1ull << 62)) {
      overflow = true;  // keep scanning: "1e999999999999999999x" is not an integer
      continue;
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > (1ull << 62)) overflow = true;
  if (!overflow) out = negative ? -static_cast<long long>(value) : static_cast<long long>(value);
  return true;
}

bool is_tchar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool has_control_char(std::string_view text, bool allow_tab) {
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && !(allow_tab && c == '\t')) || b == 0x7f) return true;
  }
  return false;
}

std::optional<Fields> FieldReader::read_map(const YAML::Node& node, const std::string& name,
                                            const std::vector<std::string>* known) {
  const std::string in = name.empty() ? "at the top level" : "in " + name;
  Fields fields;
  std::map<std::string, int> seen;
  for (const auto& kv : node) {
    const YAML::Node& key = kv.first;
    if (!key.IsScalar()) {
      problem(pos_of(key.Mark()), "keys must be plain text " + in + ", got " + kind_of(key));
      continue;
    }
    const std::string& text = key.Scalar();
    const Pos pos = pos_of(key.Mark());
    if (auto it = seen.find(text); it != seen.end()) {
      problem(pos, "duplicate key " + quote(text) + " " + in + " (first at line " +
                       std::to_string(it->second) + ")");
      continue;
    }
    seen.emplace(text, pos.line);
    if (known != nullptr && std::find(known->begin(), known->end(), text) == known->end()) {
      std::string message = "unknown key " + quote(text) + " " + in;
      if (auto near = suggest(text, *known)) message += " (did you mean " + quote(*near) + "?)";
      problem(pos, message);
      continue;
    }
    fields.list.push_back(Field{name.empty() ? text : name + "." + text, true, key, kv.second});
  }
  return fields;
}

std::optional<Fields> FieldReader::read_section(const Field& f,
                                                const std::vector<std::string>* known) {
  if (f.value.IsNull()) {
    problem(f, "needs a value");
    return std::nullopt;
  }
  if (!f.value.IsMap()) {
    problem(f, "expected a map, got " + kind_of(f.value));
    return std::nullopt;
  }
  return read_map(f.value, f.name, known);
}

std::optional<std::string> FieldReader::scalar(const Field& f, const std::string& expected) {
  if (f.value.IsNull()) {
    problem(f, "needs a value");
    return std::nullopt;
  }
  if (!f.value.IsScalar()) {
    problem(f, "expected " + expected + ", got " + kind_of(f.value));
    return std::nullopt;
  }
  std::vector<std::string> env_problems;
  EnvLookup recording = [this](const std::string& name) {
    auto v = getenv_(name);
    if (v && !v->empty()) env_values_.push_back(*v);
    return v;
  };
  std::string text = expand_env(f.value.Scalar(), recording, env_problems);
  for (auto& p : env_problems) problem(f.pos(), std::move(p));
  if (!env_problems.empty()) return std::nullopt;
  return text;
}

bool FieldReader::read_string(const Field& f, std::string& out) {
  auto text = scalar(f, "a string");
  if (!text) return false;
  out = std::move(*text);
  return true;
}

bool FieldReader::read_bool(const Field& f, bool& out) {
  auto text = scalar(f, "true or false");
  if (!text) return false;
  const std::string v = lowercase(*text);
  if (v == "true" || v == "yes" || v == "on") {
    out = true;
    return true;
  }
  if (v == "false" || v == "no" || v == "off") {
    out = false;
    return true;
  }
  problem(f, "expected true or false, got " + quote(*text));
  return false;
}

bool FieldReader::read_duration(const Field& f, Duration lo, Duration hi, Duration& out) {
  auto text = scalar(f, "a duration like 2s");
  if (!text) return false;
  Duration value{};
  std::string why;
  if (!parse_duration(std::string_view(*text), value, why)) {
    problem(f, quote(*text) + " " + why);
    return false;
  }
  if (value < lo || value > hi) {
    problem(f, *text + " is out of range " + format_duration(lo) + ".." + format_duration(hi));
    return false;
  }
  out = value;
  return true;
}

bool FieldReader::read_size(const Field& f, std::uint64_t lo, std::uint64_t hi, std::size_t& out) {
  auto text = scalar(f, "a size like 8MiB");
  if (!text) return false;
  std::uint64_t value = 0;
  std::string why;
  if (!parse_size(*text, value, why)) {
    problem(f, quote(*text) + " " + why);
    return false;
  }
  if (value < lo || value > hi) {
    problem(f, *text + " is out of range " + format_size(lo) + ".." + format_size(hi));
    return false;
  }
  out = static_cast<std::size_t>(value);
  return true;
}

std::optional<std::vector<Field>> FieldReader::read_list(const Field& f,
                                                         const std::string& expected) {
  if (f.value.IsNull()) {
    problem(f, "needs a value");
    return std::nullopt;
  }
  if (!f.value.IsSequence()) {
    problem(f, "expected " + expected + ", got " + kind_of(f.value));
    return std::nullopt;
  }
  std::vector<Field> items;
  for (const auto& element : f.value) {
    items.push_back(
        Field{f.name + "[" + std::to_string(items.size()) + "]", false, YAML::Node(), element});
  }
  return items;
}

bool FieldReader::read_string_list(const Field& f, bool allow_scalar,
                                   std::vector<std::string>& out) {
  if (f.value.IsScalar() && allow_scalar) {
    std::string value;
    if (!read_string(f, value)) return false;
    out = {std::move(value)};
    return true;
  }
  auto items = read_list(f, "a list of strings");
  if (!items) return false;
  std::vector<std::string> values;
  bool ok = true;
  for (const Field& item : *items) {
    std::string value;
    if (read_string(item, value)) {
      values.push_back(std::move(value));
    } else {
      ok = false;
    }
  }
  if (ok) out = std::move(values);
  return ok;
}

// An RFC 6901 pointer; "" (the whole document) included.
bool FieldReader::read_pointer(const Field& f, std::string& out) {
  std::string text;
  if (!read_string(f, text)) return false;
  try {
    json::Pointer::parse(text);
  } catch (const std::invalid_argument& e) {
    std::string message = quote(text) + " is not a JSON pointer: " + e.what();
    if (!text.empty() && text[0] != '/') message += " (did you mean " + quote("/" + text) + "?)";
    problem(f, message);
    return false;
  }
  out = std::move(text);
  return true;
}

bool FieldReader::check_existing(const Field& f, const std::string& path, bool directory) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) {
    std::string message = quote(path) + " does not exist";
    if (fs::path(path).is_relative()) {
      std::error_code cwd_ec;
      const fs::path cwd = fs::current_path(cwd_ec);
      if (!cwd_ec) message += " (relative to the working directory " + cwd.string() + ")";
    }
    problem(f, message);
    return false;
  }
  if (directory && !fs::is_directory(status)) {
    problem(f, quote(path) + " is not a directory");
    return false;
  }
  if (!directory) {
    if (!fs::is_regular_file(status)) {
      problem(f, quote(path) + " is not a regular file");
      return false;
    }
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
      problem(f, quote(path) + " cannot be read: " + std::strerror(errno));
      return false;
    }
    std::fclose(file);
  }
  return true;
}

namespace {

// "scheme://user:pass@host/p?k=v" → "scheme://***@host/p?k=***", for any
// URL-looking text inside a message.
std::string redact_urls(std::string text) {
  std::size_t at = 0;
  while ((at = text.find("://", at)) != std::string::npos) {
    std::size_t start = at + 3;
    std::size_t end = text.find_first_of(" \"'\n\t", start);
    if (end == std::string::npos) end = text.size();
    std::string url = text.substr(start, end - start);
    std::size_t slash = url.find_first_of("/?#");
    std::size_t amp = url.rfind('@', slash == std::string::npos ? url.size() : slash);
    if (amp != std::string::npos) url = "***" + url.substr(amp);
    std::size_t q = url.find('?');
    if (q != std::string::npos) {
      std::string query = url.substr(q + 1), out;
      std::size_t i = 0;
      while (i <= query.size()) {
        std::size_t next = query.find('&', i);
        std::string part =
            query.substr(i, next == std::string::npos ? std::string::npos : next - i);
        std::size_t eq = part.find('=');
        out += (out.empty() ? "" : "&") +
               (eq == std::string::npos ? part : part.substr(0, eq + 1) + "***");
        if (next == std::string::npos) break;
        i = next + 1;
      }
      url = url.substr(0, q + 1) + out;
    }
    text.replace(start, end - start, url);
    at = start + url.size();
  }
  return text;
}

}  // namespace

namespace {

void replace_all(std::string& text, const std::string& from) {
  for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos;) {
    text.replace(at, from.size(), "***");
    at += 3;
  }
}

}  // namespace

std::string FieldReader::scrub(std::string text) const {
  // Each value as quote() writes it: escaped ("a\nb" for a value with a line
  // break) and, in a long quoted value, cut after its first characters (the
  // quote then ends in `..."`).
  std::vector<std::string> escaped;
  for (const auto& v : env_values_) {
    std::string e = quote(v);
    e = e.substr(1, e.size() - 2);
    if (e.size() > 3 && e.compare(e.size() - 3, 3, "...") == 0) e.resize(e.size() - 3);
    escaped.push_back(std::move(e));
  }
  // First the cuts: the longest start of any value that ends where a quote
  // was cut. The longest, because a shorter match of another value would
  // leave a secret's first characters in the message.
  static const std::string kCut = "...\"";
  for (std::size_t at = 0; (at = text.find(kCut, at)) != std::string::npos; at += kCut.size()) {
    std::size_t best = 0;
    for (const auto& e : escaped) {
      for (std::size_t n = std::min(e.size(), at); n > best; --n) {
        if (text.compare(at - n, n, e, 0, n) == 0) {
          best = n;
          break;
        }
      }
    }
    if (best > 0) {
      text.replace(at - best, best, "***");
      at = at - best + 3;
    }
  }
  // Then every whole value, raw and escaped.
  for (std::size_t i = 0; i < env_values_.size(); ++i) {
    replace_all(text, env_values_[i]);
    if (escaped[i] != env_values_[i]) replace_all(text, escaped[i]);
  }
  return redact_urls(std::move(text));
}

}  // namespace pb::config
