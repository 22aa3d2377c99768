// Reading typed values out of the YAML document with positions: the
// building blocks every config section uses (strings, integers, durations,
// sizes, lists, JSON pointers), each reporting problems as
// "file:line:col: name: what is wrong" instead of throwing.
//
// Threads: a FieldReader belongs to one load (the thread that loads).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/env.h"

namespace pb::config {

// 1-based position in the config file.
struct Pos {
  int line = 1;
  int column = 1;
};

Pos pos_of(const YAML::Mark& mark);

// A value in the document together with the name used in messages
// ("streams[0].interval") and, inside a map, its key.
//
// YAML::Node's copy assignment rebinds the node inside the document, so a
// Field is only ever constructed, never assigned.
struct Field {
  std::string name;
  bool has_key = false;
  YAML::Node key;
  YAML::Node value;

  // Where problems with the value are reported: the value itself, or its
  // key when the value is empty (yaml-cpp marks an empty value at the next
  // token, often on the following line).
  Pos pos() const {
    if (has_key && value.IsNull()) return pos_of(key.Mark());
    return pos_of(value.Mark());
  }
  Pos key_pos() const { return pos_of(has_key ? key.Mark() : value.Mark()); }
  int line() const { return pos().line; }
};

// Text for messages: quoted, control characters escaped, long values cut.
std::string quote(std::string_view text);
// Text for messages as it is, control characters escaped (\n, \xNN): a
// problem is always one line.
std::string visible(std::string_view text);
std::string kind_of(const YAML::Node& node);
std::string upper(std::string_view text);
// The known key closest to `key`, if any is close enough.
std::optional<std::string> suggest(const std::string& key, const std::vector<std::string>& known);
bool parse_integer(std::string_view text, long long& out, bool& overflow);
// RFC 9110 token characters (header field names).
bool is_tchar(char c);
bool has_control_char(std::string_view text, bool allow_tab);

struct Problem {
  Pos pos;
  std::string text;
};

// The entries of a map, in document order.
struct Fields {
  std::vector<Field> list;
  const Field* find(std::string_view key) const {
    for (const auto& f : list) {
      if (f.key.Scalar() == key) return &f;
    }
    return nullptr;
  }
};

class FieldReader {
 public:
  FieldReader(std::string file, const EnvLookup& getenv)
      : file_(std::move(file)), getenv_(getenv) {}

  // Every problem's text with secrets taken out: the value of every
  // ${VAR} that was substituted (whatever the variable), and the user info
  // and query values of URLs, are shown as "***".
  std::string scrub(std::string text) const;

 protected:
  void problem(Pos pos, std::string text) { problems_.push_back({pos, scrub(std::move(text))}); }
  void problem(const Field& f, const std::string& text) { problem(f.pos(), f.name + ": " + text); }
  std::string where(Pos pos) const {
    return file_ + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
  }

  std::optional<Fields> read_map(const YAML::Node& node, const std::string& name,
                                 const std::vector<std::string>* known);
  std::optional<Fields> read_section(const Field& f, const std::vector<std::string>* known);
  std::optional<std::string> scalar(const Field& f, const std::string& expected);
  bool read_string(const Field& f, std::string& out);
  template <typename T>
  bool read_integer(const Field& f, long long lo, long long hi, T& out) {
    auto text = scalar(f, "an integer");
    if (!text) return false;
    long long value = 0;
    bool overflow = false;
    if (!parse_integer(*text, value, overflow)) {
      problem(f, "expected an integer, got " + quote(*text));
      return false;
    }
    if (overflow || value < lo || value > hi) {
      problem(f, *text + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
      return false;
    }
    out = static_cast<T>(value);
    return true;
  }
  bool read_bool(const Field& f, bool& out);
  bool read_duration(const Field& f, Duration lo, Duration hi, Duration& out);
  bool read_size(const Field& f, std::uint64_t lo, std::uint64_t hi, std::size_t& out);
  std::optional<std::vector<Field>> read_list(const Field& f, const std::string& expected);
  bool read_string_list(const Field& f, bool allow_scalar, std::vector<std::string>& out);
  bool read_pointer(const Field& f, std::string& out);
  bool check_existing(const Field& f, const std::string& path, bool directory);

  std::string file_;
  const EnvLookup& getenv_;
  std::vector<Problem> problems_;
  std::vector<std::string> env_values_;  // values substituted for ${VAR}: secret
};

}  // namespace pb::config
