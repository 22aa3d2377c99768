#include "config/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "config/duration.h"
#include "config/path_template.h"
#include "config/url.h"
#include "json/pointer.h"

namespace pb::config {
namespace {

namespace fs = std::filesystem;

// Accepted ranges. They exist to catch typos (an extra zero, a unit
// forgotten), not to tune anything; docs/configuration.md lists them.
constexpr long long kMaxWorkers = 256;
constexpr long long kMaxHubThreads = 64;
constexpr long long kMaxBacklog = 65535;
constexpr long long kMaxClients = 10'000'000;
constexpr long long kMaxClientBacklogEvents = 1'000'000;
constexpr std::uint64_t kMinClientBacklogBytes = 1ull << 10;
constexpr std::uint64_t kMaxClientBacklogBytes = 1ull << 30;
constexpr long long kMaxHistory = 1'000'000;
constexpr std::uint64_t kMinHistoryBytes = 1ull << 10;
constexpr std::uint64_t kMaxHistoryBytes = 1ull << 36;
constexpr long long kMaxInstances = 1'000'000;
constexpr std::uint64_t kMinMaxBody = 1ull << 10;
constexpr std::uint64_t kMaxMaxBody = 1ull << 30;
constexpr Duration kMinHeartbeat = std::chrono::seconds(1);
constexpr Duration kMaxHeartbeat = std::chrono::hours(1);
constexpr Duration kMaxRetry = std::chrono::hours(1);
constexpr Duration kMaxShutdownTimeout = std::chrono::minutes(10);
constexpr Duration kMinInterval = Duration(10);
constexpr Duration kMaxInterval = std::chrono::hours(24);
constexpr Duration kMinTimeout = Duration(10);
constexpr Duration kMaxTimeout = std::chrono::minutes(10);
constexpr Duration kMaxLinger = std::chrono::hours(24);
constexpr Duration kMaxBackoff = std::chrono::hours(24);
// backoff_max when the stream does not set it: this, or the interval if
// that is longer.
constexpr Duration kDefaultBackoffMax = std::chrono::seconds(60);
// Stream names become URL segments and metric labels.
constexpr std::size_t kMaxNameLength = 64;
// Unknown keys get a suggestion when a known key is this close.
constexpr std::size_t kMaxSuggestionDistance = 2;

// 1-based position in the config file.
struct Pos {
  int line = 1;
  int column = 1;
};

Pos pos_of(const YAML::Mark& mark) {
  if (mark.line < 0 || mark.column < 0) return Pos{};
  return Pos{mark.line + 1, mark.column + 1};
}

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
std::string quote(std::string_view text) {
  constexpr std::size_t kMaxQuoted = 80;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == kMaxQuoted) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
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
  out += '"';
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

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

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

// The known key closest to `key`, if any is close enough.
std::optional<std::string> suggest(const std::string& key, const std::vector<std::string>& known) {
  std::optional<std::string> best;
  std::size_t best_distance = kMaxSuggestionDistance + 1;
  for (const auto& candidate : known) {
    const std::size_t d = edit_distance(lower(key), candidate);
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

// host:port for server.listen. On failure sets `why` (read after the
// quoted value).
bool parse_listen(std::string_view text, std::string& host, int& port, std::string& why) {
  if (text.empty()) {
    why = "is empty (expected host:port, like 127.0.0.1:8080)";
    return false;
  }
  std::string_view host_part;
  std::string_view port_part;
  if (text[0] == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      why = "has an IPv6 address without its closing \"]\"";
      return false;
    }
    host_part = text.substr(1, close - 1);
    if (host_part.empty() || host_part.find(':') == std::string_view::npos) {
      why = "has an empty or malformed IPv6 address in [...]";
      return false;
    }
    for (char c : host_part) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        why = "has an IPv6 address with \"" + std::string(1, c) + "\" in it";
        return false;
      }
    }
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      why = "needs a port after the address, like [::1]:8080";
      return false;
    }
    port_part = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      why = "needs a port (host:port, like 127.0.0.1:8080)";
      return false;
    }
    host_part = text.substr(0, colon);
    port_part = text.substr(colon + 1);
    if (host_part.find(':') != std::string_view::npos) {
      why = "needs brackets around an IPv6 address, like [::1]:8080";
      return false;
    }
    if (host_part.empty()) {
      why = "needs a host (0.0.0.0:PORT listens on every IPv4 interface)";
      return false;
    }
    for (char c : host_part) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
        why = "has a host with \"" + std::string(1, c) + "\" in it";
        return false;
      }
    }
  }
  long long value = 0;
  bool overflow = false;
  if (port_part.empty() || port_part[0] == '+' || port_part[0] == '-' ||
      !parse_integer(port_part, value, overflow) || overflow || value > 65535) {
    why = "has port " + quote(port_part) + "; expected a number from 0 to 65535";
    return false;
  }
  host = std::string(host_part);
  port = static_cast<int>(value);
  return true;
}

// A CORS origin as browsers send it: scheme://host[:port], no path. On
// success `out` is lower-cased (Origin headers are).
bool parse_origin(std::string_view text, std::string& out, std::string& why) {
  if (text == "*") {
    out = "*";
    return true;
  }
  const std::size_t sep = text.find("://");
  const std::string scheme = lower(text.substr(0, sep));
  if (sep == std::string_view::npos || (scheme != "http" && scheme != "https") ||
      sep + 3 == text.size()) {
    why =
        "is not an origin (expected \"*\" or scheme://host[:port], like "
        "https://app.example.com)";
    return false;
  }
  const std::string_view rest = text.substr(sep + 3);
  if (rest.find('/') != std::string_view::npos) {
    why =
        "is not an origin: drop the path (an origin is scheme://host[:port], without a "
        "trailing \"/\")";
    return false;
  }
  for (char c : rest) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_' &&
        c != ':' && c != '[' && c != ']') {
      why = "is not an origin: it contains " + quote(std::string(1, c));
      return false;
    }
  }
  out = lower(text);
  return true;
}

// RFC 9110 token characters (header field names).
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

bool valid_stream_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || name == "." || name == "..") return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

// Request headers pollbridge sets itself; a configured value would break
// framing or its conditional requests.
std::optional<std::string> reserved_header(const std::string& lower_name) {
  if (lower_name == "content-length" || lower_name == "transfer-encoding" ||
      lower_name == "connection") {
    return std::string("is set by pollbridge from the request it sends");
  }
  if (lower_name == "content-type") return std::string("is set from content_type; use that key");
  if (lower_name == "if-none-match" || lower_name == "if-modified-since") {
    return std::string("is set by pollbridge from the previous response (ETag, Last-Modified)");
  }
  return std::nullopt;
}

struct Problem {
  Pos pos;
  std::string text;
};

// Everything the cross-stream checks need about one stream.
struct StreamInfo {
  std::string name;
  bool name_ok = false;
  int name_line = 0;  // of the name (or the entry when it has none)
  int path_line = 0;  // of the path (or the name when the path is the default)
  std::string path;
  bool route_ok = false;
  std::vector<PathSegment> route;
  Pos path_pos;  // the path value, or the name when the path is the default
  std::string path_field;
  std::map<std::string, std::shared_ptr<const std::regex>> regexes;
};

// One loading pass: reads the document into a Config, collecting problems.
class Loader {
 public:
  Loader(std::string file, const EnvLookup& getenv) : file_(std::move(file)), getenv_(getenv) {}

  Config run(const std::string& text);

 private:
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

  void problem(Pos pos, std::string text) { problems_.push_back({pos, std::move(text)}); }
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
  bool read_integer(const Field& f, long long lo, long long hi, T& out);
  bool read_bool(const Field& f, bool& out);
  bool read_duration(const Field& f, Duration lo, Duration hi, Duration& out);
  bool read_size(const Field& f, std::uint64_t lo, std::uint64_t hi, std::size_t& out);
  std::optional<std::vector<Field>> read_list(const Field& f, const std::string& expected);
  bool read_string_list(const Field& f, bool allow_scalar, std::vector<std::string>& out);
  bool read_pointer(const Field& f, std::string& out);
  bool check_existing(const Field& f, const std::string& path, bool directory);

  void read_server(const Field& f, ServerConfig& server);
  void read_state(const Field& f, StateConfig& state);
  void read_streams(const Field& f, Config& config);
  void read_stream(const YAML::Node& entry, std::size_t index, Config& config);
  void read_stream_name(const Fields& fields, const std::string& prefix, Pos entry_pos,
                        StreamConfig& s, StreamInfo& info);
  std::set<std::string> read_params(const Field* params_field, StreamConfig& s, StreamInfo& info);
  void read_path(const Fields& fields, const std::string& prefix,
                 const std::set<std::string>& declared, StreamConfig& s, StreamInfo& info);
  void read_url(const Fields& fields, const std::string& prefix, Pos entry_pos,
                const std::set<std::string>& declared, StreamConfig& s);
  void read_request(const Fields& fields, StreamConfig& s);
  void read_diff_options(const Fields& fields, StreamConfig& s);
  void read_polling(const Fields& fields, StreamConfig& s);
  void check_routes();

  std::string file_;
  const EnvLookup& getenv_;
  std::vector<Problem> problems_;
  std::vector<StreamInfo> infos_;
  std::map<std::string, int> name_lines_;  // stream name -> line of its first use
};

std::optional<Loader::Fields> Loader::read_map(const YAML::Node& node, const std::string& name,
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

std::optional<Loader::Fields> Loader::read_section(const Field& f,
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

std::optional<std::string> Loader::scalar(const Field& f, const std::string& expected) {
  if (f.value.IsNull()) {
    problem(f, "needs a value");
    return std::nullopt;
  }
  if (!f.value.IsScalar()) {
    problem(f, "expected " + expected + ", got " + kind_of(f.value));
    return std::nullopt;
  }
  std::vector<std::string> env_problems;
  std::string text = expand_env(f.value.Scalar(), getenv_, env_problems);
  for (auto& p : env_problems) problem(f.pos(), std::move(p));
  if (!env_problems.empty()) return std::nullopt;
  return text;
}

bool Loader::read_string(const Field& f, std::string& out) {
  auto text = scalar(f, "a string");
  if (!text) return false;
  out = std::move(*text);
  return true;
}

template <typename T>
bool Loader::read_integer(const Field& f, long long lo, long long hi, T& out) {
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

bool Loader::read_bool(const Field& f, bool& out) {
  auto text = scalar(f, "true or false");
  if (!text) return false;
  const std::string v = lower(*text);
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

bool Loader::read_duration(const Field& f, Duration lo, Duration hi, Duration& out) {
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

bool Loader::read_size(const Field& f, std::uint64_t lo, std::uint64_t hi, std::size_t& out) {
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

std::optional<std::vector<Field>> Loader::read_list(const Field& f, const std::string& expected) {
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

bool Loader::read_string_list(const Field& f, bool allow_scalar, std::vector<std::string>& out) {
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
bool Loader::read_pointer(const Field& f, std::string& out) {
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

bool Loader::check_existing(const Field& f, const std::string& path, bool directory) {
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

Config Loader::run(const std::string& text) {
  Config config;
  config.file = file_;

  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    problem(pos_of(e.mark), "invalid YAML: " + e.msg);
    throw ConfigError({where(problems_[0].pos) + ": " + problems_[0].text});
  }
  if (documents.empty() || documents[0].IsNull()) {
    problem(Pos{}, "the config is empty; it needs at least a streams list");
  } else if (!documents[0].IsMap()) {
    problem(pos_of(documents[0].Mark()),
            "the top level must be a map (server, history, state, streams), got " +
                kind_of(documents[0]));
  } else {
    // Empty documents after the first (a trailing "---") are harmless.
    auto extra = std::find_if(documents.begin() + 1, documents.end(),
                              [](const YAML::Node& d) { return !d.IsNull(); });
    if (extra != documents.end()) {
      problem(pos_of(extra->Mark()),
              "only one YAML document is allowed; remove the second \"---\"");
    }
    static const std::vector<std::string> kTopKeys = {"server", "history", "history_bytes", "state",
                                                      "streams"};
    const YAML::Node& root = documents[0];
    auto top = read_map(root, "", &kTopKeys);
    if (const Field* f = top->find("history")) read_integer(*f, 1, kMaxHistory, config.history);
    if (const Field* f = top->find("history_bytes")) {
      read_size(*f, kMinHistoryBytes, kMaxHistoryBytes, config.history_bytes);
    }
    if (const Field* f = top->find("server")) read_server(*f, config.server);
    if (const Field* f = top->find("state")) read_state(*f, config.state);
    if (const Field* f = top->find("streams")) {
      read_streams(*f, config);
    } else {
      problem(pos_of(root.Mark()),
              "missing required key \"streams\" (the list of endpoints to poll)");
    }
  }

  if (problems_.empty()) return config;
  std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
    return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
  });
  std::vector<std::string> lines;
  for (const auto& p : problems_) {
    std::string line = where(p.pos) + ": " + p.text;
    // An anchor used twice reports the same problem twice.
    if (std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(line);
  }
  throw ConfigError(std::move(lines));
}

void Loader::read_server(const Field& f, ServerConfig& server) {
  static const std::vector<std::string> kKeys = {"listen",
                                                 "heartbeat",
                                                 "retry",
                                                 "workers",
                                                 "hub_threads",
                                                 "backlog",
                                                 "max_clients",
                                                 "client_backlog_events",
                                                 "client_backlog_bytes",
                                                 "admin_token",
                                                 "cors_origins",
                                                 "shutdown_timeout",
                                                 "static_dir"};
  auto fields = read_section(f, &kKeys);
  if (!fields) return;
  if (const Field* x = fields->find("listen")) {
    std::string text;
    if (read_string(*x, text)) {
      std::string why;
      if (!parse_listen(text, server.host, server.port, why)) problem(*x, quote(text) + " " + why);
    }
  }
  if (const Field* x = fields->find("heartbeat")) {
    read_duration(*x, kMinHeartbeat, kMaxHeartbeat, server.heartbeat);
  }
  if (const Field* x = fields->find("retry"))
    read_duration(*x, Duration(0), kMaxRetry, server.retry);
  if (const Field* x = fields->find("workers")) read_integer(*x, 1, kMaxWorkers, server.workers);
  if (const Field* x = fields->find("hub_threads")) {
    read_integer(*x, 0, kMaxHubThreads, server.hub_threads);
  }
  if (const Field* x = fields->find("backlog")) read_integer(*x, 1, kMaxBacklog, server.backlog);
  if (const Field* x = fields->find("max_clients")) {
    read_integer(*x, 1, kMaxClients, server.max_clients);
  }
  if (const Field* x = fields->find("client_backlog_events")) {
    read_integer(*x, 1, kMaxClientBacklogEvents, server.client_backlog_events);
  }
  if (const Field* x = fields->find("client_backlog_bytes")) {
    read_size(*x, kMinClientBacklogBytes, kMaxClientBacklogBytes, server.client_backlog_bytes);
  }
  if (const Field* x = fields->find("admin_token")) {
    std::string token;
    if (read_string(*x, token)) {
      if (token.find_first_of(" \t") != std::string::npos || has_control_char(token, false)) {
        problem(*x, "must not contain spaces or control characters");
      } else {
        server.admin_token = std::move(token);
      }
    }
  }
  if (const Field* x = fields->find("cors_origins")) {
    std::vector<std::string> origins;
    if (read_string_list(*x, true, origins)) {
      std::vector<std::string> parsed;
      bool ok = true;
      for (const auto& origin : origins) {
        std::string value;
        std::string why;
        if (!parse_origin(origin, value, why)) {
          problem(*x, quote(origin) + " " + why);
          ok = false;
        } else if (std::find(parsed.begin(), parsed.end(), value) == parsed.end()) {
          parsed.push_back(std::move(value));
        }
      }
      if (ok && parsed.size() > 1 && std::find(parsed.begin(), parsed.end(), "*") != parsed.end()) {
        problem(*x, "\"*\" allows every origin and cannot be combined with others");
        ok = false;
      }
      if (ok) server.cors_origins = std::move(parsed);
    }
  }
  if (const Field* x = fields->find("shutdown_timeout")) {
    read_duration(*x, Duration(0), kMaxShutdownTimeout, server.shutdown_timeout);
  }
  if (const Field* x = fields->find("static_dir")) {
    std::string dir;
    if (read_string(*x, dir) && (dir.empty() || check_existing(*x, dir, true))) {
      server.static_dir = std::move(dir);
    }
  }
}

void Loader::read_state(const Field& f, StateConfig& state) {
  static const std::vector<std::string> kKeys = {"dir", "fsync"};
  auto fields = read_section(f, &kKeys);
  if (!fields) return;
  if (const Field* x = fields->find("dir")) {
    std::string dir;
    if (read_string(*x, dir)) {
      if (has_control_char(dir, false)) {
        problem(*x, "must not contain control characters");
      } else {
        state.dir = std::move(dir);
      }
    }
  }
  if (const Field* x = fields->find("fsync")) read_bool(*x, state.fsync);
}

void Loader::read_streams(const Field& f, Config& config) {
  if (f.value.IsNull()) {
    problem(f, "needs at least one stream");
    return;
  }
  if (!f.value.IsSequence()) {
    problem(f, "expected a list of streams, got " + kind_of(f.value));
    return;
  }
  if (f.value.size() == 0) {
    problem(f, "needs at least one stream");
    return;
  }
  std::size_t index = 0;
  for (const auto& entry : f.value) read_stream(entry, index++, config);
  check_routes();
}

void Loader::read_stream(const YAML::Node& entry, std::size_t index, Config& config) {
  static const std::vector<std::string> kKeys = {
      "name",        "url",        "path",    "params",       "max_instances", "interval",
      "timeout",     "method",     "body",    "content_type", "headers",       "diff",
      "select",      "ignore",     "key",     "idle",         "linger",        "max_body",
      "backoff_max", "tls_verify", "ca_file", "history"};
  const std::string prefix = "streams[" + std::to_string(index) + "]";
  const Pos entry_pos = pos_of(entry.Mark());
  if (!entry.IsMap()) {
    problem(entry_pos,
            prefix + ": expected a map with at least name and url, got " + kind_of(entry));
    return;
  }
  const Fields fields = *read_map(entry, prefix, &kKeys);

  StreamConfig s;
  s.where = where(entry_pos);
  s.history = config.history;
  StreamInfo info;
  info.name_line = entry_pos.line;
  info.path_line = entry_pos.line;
  info.path_pos = entry_pos;

  read_stream_name(fields, prefix, entry_pos, s, info);
  // params first: path and url refer to them.
  const std::set<std::string> declared = read_params(fields.find("params"), s, info);
  read_path(fields, prefix, declared, s, info);
  read_url(fields, prefix, entry_pos, declared, s);
  read_request(fields, s);
  read_diff_options(fields, s);
  read_polling(fields, s);

  config.streams.push_back(std::move(s));
  infos_.push_back(std::move(info));
}

void Loader::read_stream_name(const Fields& fields, const std::string& prefix, Pos entry_pos,
                              StreamConfig& s, StreamInfo& info) {
  if (const Field* x = fields.find("name")) {
    info.name_line = x->line();
    info.path_line = x->line();
    info.path_pos = x->pos();
    if (read_string(*x, s.name)) {
      if (!valid_stream_name(s.name)) {
        problem(*x, quote(s.name) +
                        " is not a valid stream name (1 to 64 of A-Z a-z 0-9 _ . -, not "
                        "\".\" or \"..\")");
      } else if (auto it = name_lines_.find(s.name); it != name_lines_.end()) {
        problem(*x, "duplicate stream name " + quote(s.name) + " (first defined at line " +
                        std::to_string(it->second) + ")");
      } else {
        name_lines_.emplace(s.name, x->line());
        info.name = s.name;
        info.name_ok = true;
      }
    }
  } else {
    problem(entry_pos, prefix + ": missing required key \"name\"");
  }
}

// Returns the names declared in params (valid names only).
std::set<std::string> Loader::read_params(const Field* params_field, StreamConfig& s,
                                          StreamInfo& info) {
  std::set<std::string> declared;
  if (params_field != nullptr) {
    if (auto params = read_section(*params_field, nullptr)) {
      for (const Field& p : params->list) {
        const std::string& param = p.key.Scalar();
        if (!is_param_name(param)) {
          problem(p.key_pos(), params_field->name + ": " + quote(param) +
                                   " is not a valid parameter name ([A-Za-z_][A-Za-z0-9_]*)");
          continue;
        }
        declared.insert(param);
        std::string pattern;
        if (!read_string(p, pattern)) continue;
        if (pattern.empty()) {
          problem(p, "needs a regular expression for the values, like \"^[0-9]+$\"");
          continue;
        }
        try {
          info.regexes[param] = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
          s.params[param] = pattern;
        } catch (const std::regex_error& e) {
          problem(p, quote(pattern) + " is not a valid regular expression (" + e.what() + ")");
        }
      }
    }
  }
  return declared;
}

void Loader::read_path(const Fields& fields, const std::string& prefix,
                       const std::set<std::string>& declared, StreamConfig& s, StreamInfo& info) {
  const Field* path_field = fields.find("path");
  const Field* params_field = fields.find("params");
  bool path_given = false;
  if (path_field != nullptr) {
    info.path_pos = path_field->pos();
    info.path_line = path_field->line();
    info.path_field = path_field->name;
    std::string path;
    if (read_string(*path_field, path)) {
      std::string why;
      std::vector<PathSegment> route;
      if (!parse_path_template(path, route, why)) {
        problem(*path_field, quote(path) + " " + why);
      } else {
        s.path = path;
        path_given = true;
        info.path = path;
        info.route = std::move(route);
        info.route_ok = true;
        for (const auto& seg : info.route) {
          if (seg.param && declared.count(seg.text) == 0) {
            problem(*path_field, "placeholder {" + seg.text + "} has no regular expression in " +
                                     prefix + ".params");
          }
        }
      }
    }
  } else if (info.name_ok) {
    s.path = std::string(kEventsPrefix) + s.name;
    info.path = s.path;
    info.path_field = prefix + ".name";
    info.route = {{"events", false}, {s.name, false}};
    info.route_ok = true;
  }
  if (params_field != nullptr && !declared.empty()) {
    if (path_field == nullptr) {
      problem(*params_field, "params need {placeholders} in path, like path: /events/" +
                                 (info.name_ok ? s.name : std::string("orders")) + "/{" +
                                 *declared.begin() + "}");
    } else if (path_given) {
      for (const auto& param : declared) {
        const bool used = std::any_of(info.route.begin(), info.route.end(), [&](const auto& seg) {
          return seg.param && seg.text == param;
        });
        if (!used) {
          problem(*params_field,
                  "parameter " + quote(param) + " does not appear in path " + quote(s.path));
        }
      }
    }
  }
}

void Loader::read_url(const Fields& fields, const std::string& prefix, Pos entry_pos,
                      const std::set<std::string>& declared, StreamConfig& s) {
  if (const Field* x = fields.find("url")) {
    std::string url;
    if (read_string(*x, url)) {
      UrlParts parts;
      std::string why;
      if (!parse_url(url, parts, why)) {
        problem(*x, quote(url) + " " + why);
      } else {
        std::set<std::string> reported;
        bool ok = true;
        for (const auto& name : parts.placeholders) {
          if (declared.count(name) == 0 && reported.insert(name).second) {
            problem(*x, "uses {" + name + "}, which is not declared in " + prefix + ".params");
            ok = false;
          }
        }
        // The scheme is stored lower-cased; the rest as written.
        if (ok) s.url = parts.scheme + url.substr(parts.scheme.size());
      }
    }
  } else {
    problem(entry_pos, prefix + ": missing required key \"url\"");
  }
}

// method, body, content_type, headers.
void Loader::read_request(const Fields& fields, StreamConfig& s) {
  bool method_ok = true;
  if (const Field* x = fields.find("method")) {
    std::string method;
    method_ok = false;
    if (read_string(*x, method)) {
      method = upper(method);
      if (method == "GET" || method == "POST") {
        s.method = method;
        method_ok = true;
      } else {
        problem(*x, quote(method) + " is not supported; use GET or POST");
      }
    }
  }
  if (const Field* x = fields.find("body")) {
    if (read_string(*x, s.body) && method_ok && s.method != "POST" && !s.body.empty()) {
      problem(*x, "a body is sent only with method: POST");
    }
  }
  if (const Field* x = fields.find("content_type")) {
    std::string type;
    if (read_string(*x, type)) {
      if (has_control_char(type, true)) {
        problem(*x, "must not contain control characters");
      } else {
        s.content_type = std::move(type);
      }
    }
  }
  if (const Field* x = fields.find("headers")) {
    if (auto headers = read_section(*x, nullptr)) {
      std::map<std::string, int> seen;  // lower-cased name -> line
      for (const Field& h : headers->list) {
        const std::string& name = h.key.Scalar();
        const std::string lower_name = lower(name);
        if (name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)) {
          problem(h.key_pos(), x->name + ": " + quote(name) +
                                   " is not a valid header name (letters, digits and "
                                   "!#$%&'*+-.^_`|~ only)");
          continue;
        }
        if (auto reason = reserved_header(lower_name)) {
          problem(h.key_pos(), x->name + ": " + name + " " + *reason);
          continue;
        }
        if (auto it = seen.find(lower_name); it != seen.end()) {
          problem(h.key_pos(), x->name + ": " + name +
                                   " is set twice (header names ignore case; "
                                   "first at line " +
                                   std::to_string(it->second) + ")");
          continue;
        }
        seen.emplace(lower_name, h.key_pos().line);
        std::string value;
        if (!read_string(h, value)) continue;
        if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos ||
            has_control_char(value, true)) {
          problem(h, "header values must not contain CR, LF, NUL or other control characters");
          continue;
        }
        s.headers.emplace_back(name, std::move(value));
      }
    }
  }
}

// diff, select, ignore, key.
void Loader::read_diff_options(const Fields& fields, StreamConfig& s) {
  const Field* diff_field = fields.find("diff");
  if (diff_field != nullptr) {
    static const std::vector<std::pair<std::string, DiffMode>> kModes = {
        {"snapshot", DiffMode::kSnapshot},
        {"json-patch", DiffMode::kJsonPatch},
        {"merge-patch", DiffMode::kMergePatch},
        {"items", DiffMode::kItems},
        {"text", DiffMode::kText}};
    std::string mode;
    if (read_string(*diff_field, mode)) {
      auto it = std::find_if(kModes.begin(), kModes.end(),
                             [&](const auto& m) { return m.first == lower(mode); });
      if (it == kModes.end()) {
        problem(*diff_field,
                quote(mode) + " is not one of snapshot, json-patch, merge-patch, items, text");
      } else {
        s.diff = it->second;
      }
    }
  }
  const Field* select_field = fields.find("select");
  if (select_field != nullptr) read_pointer(*select_field, s.select);
  const Field* ignore_field = fields.find("ignore");
  if (ignore_field != nullptr) {
    if (auto items = read_list(*ignore_field, "a list of JSON pointers")) {
      for (const Field& item : *items) {
        std::string pointer;
        if (!read_pointer(item, pointer)) continue;
        if (pointer.empty()) {
          problem(item, "\"\" would ignore the whole document");
          continue;
        }
        s.ignore.push_back(std::move(pointer));
      }
    }
  }
  const Field* key_field = fields.find("key");
  bool key_ok = true;
  if (key_field != nullptr) {
    // A leading '/' makes it a pointer; anything else is a member name.
    key_ok = false;
    std::string key;
    if (read_string(*key_field, key)) {
      if (!key.empty() && key[0] == '/') {
        key_ok = read_pointer(*key_field, s.key);
      } else {
        s.key = std::move(key);
        key_ok = true;
      }
    }
  }
  if (s.diff == DiffMode::kItems && key_ok && s.key.empty()) {
    if (key_field == nullptr) {
      problem(*diff_field,
              "items needs a key: the member that identifies each element, like key: id");
    } else {
      problem(*key_field, "must not be empty with diff: items");
    }
  }
  if (s.diff == DiffMode::kText) {
    const std::pair<const Field*, bool> used[] = {{select_field, !s.select.empty()},
                                                  {ignore_field, !s.ignore.empty()},
                                                  {key_field, !s.key.empty()}};
    for (const auto& [x, set] : used) {
      if (x != nullptr && set) {
        problem(*x, "applies to JSON documents and cannot be used with diff: text");
      }
    }
  }
}

// Timing, limits and TLS.
void Loader::read_polling(const Fields& fields, StreamConfig& s) {
  if (const Field* x = fields.find("max_instances")) {
    read_integer(*x, 1, kMaxInstances, s.max_instances);
  }
  const Field* interval_field = fields.find("interval");
  bool interval_ok = true;
  if (interval_field != nullptr) {
    interval_ok = read_duration(*interval_field, kMinInterval, kMaxInterval, s.interval);
  }
  if (const Field* x = fields.find("timeout")) {
    read_duration(*x, kMinTimeout, kMaxTimeout, s.timeout);
  }
  if (const Field* x = fields.find("idle")) {
    std::string idle;
    if (read_string(*x, idle)) {
      if (lower(idle) == "stop") {
        s.idle = IdlePolicy::kStop;
      } else if (lower(idle) == "keep") {
        s.idle = IdlePolicy::kKeep;
      } else {
        problem(*x, quote(idle) + " is not one of stop, keep");
      }
    }
  }
  if (const Field* x = fields.find("linger")) read_duration(*x, Duration(0), kMaxLinger, s.linger);
  if (const Field* x = fields.find("max_body")) read_size(*x, kMinMaxBody, kMaxMaxBody, s.max_body);
  s.backoff_max = std::max(kDefaultBackoffMax, s.interval);
  if (const Field* x = fields.find("backoff_max")) {
    Duration backoff{};
    if (read_duration(*x, kMinInterval, kMaxBackoff, backoff)) {
      if (interval_ok && backoff < s.interval) {
        problem(*x, format_duration(backoff) + " is shorter than interval (" +
                        format_duration(s.interval) + "); it must be at least the interval");
      } else {
        s.backoff_max = backoff;
      }
    }
  }
  if (const Field* x = fields.find("tls_verify")) read_bool(*x, s.tls_verify);
  if (const Field* x = fields.find("ca_file")) {
    std::string path;
    if (read_string(*x, path) && (path.empty() || check_existing(*x, path, false))) {
      s.ca_file = std::move(path);
    }
  }
  if (const Field* x = fields.find("history")) read_integer(*x, 1, kMaxHistory, s.history);
}

// Could a request path match both routes? Literal segments must be equal; a
// placeholder matches a literal if its regex does; two placeholders are
// assumed to overlap (regex intersection is not decidable here).
bool overlap(const StreamInfo& a, const std::vector<PathSegment>& ra, const StreamInfo& b,
             const std::vector<PathSegment>& rb) {
  if (ra.size() != rb.size()) return false;
  auto matches = [](const StreamInfo& info, const std::string& param, const std::string& literal) {
    auto it = info.regexes.find(param);
    if (it == info.regexes.end()) return false;  // already reported
    try {
      return std::regex_match(literal, *it->second);
    } catch (const std::regex_error&) {
      return true;
    }
  };
  for (std::size_t i = 0; i < ra.size(); ++i) {
    const PathSegment& x = ra[i];
    const PathSegment& y = rb[i];
    if (!x.param && !y.param && x.text != y.text) return false;
    if (x.param && !y.param && !matches(a, x.text, y.text)) return false;
    if (!x.param && y.param && !matches(b, y.text, x.text)) return false;
  }
  return true;
}

bool same_shape(const std::vector<PathSegment>& a, const std::vector<PathSegment>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].param != b[i].param || (!a[i].param && a[i].text != b[i].text)) return false;
  }
  return true;
}

void Loader::check_routes() {
  // Every stream also reserves its default path /events/<name>, even when it
  // is served elsewhere, so that name-based URLs stay unambiguous.
  for (std::size_t j = 0; j < infos_.size(); ++j) {
    const StreamInfo& b = infos_[j];
    for (std::size_t i = 0; i < j; ++i) {
      const StreamInfo& a = infos_[i];
      if (a.name_ok && b.name_ok && a.name == b.name) continue;
      const std::string other =
          "of stream " + quote(a.name) + " (line " + std::to_string(a.path_line) + ")";
      std::string message;
      const std::vector<PathSegment> plain_a = {{"events", false}, {a.name, false}};
      const std::vector<PathSegment> plain_b = {{"events", false}, {b.name, false}};
      if (a.route_ok && b.route_ok && same_shape(a.route, b.route)) {
        message =
            a.path == b.path
                ? "path " + quote(b.path) + " is already used by stream " + quote(a.name) +
                      " (line " + std::to_string(a.path_line) + ")"
                : "path " + quote(b.path) + " is the same route as " + quote(a.path) + " " + other;
      } else if (a.name_ok && b.route_ok && a.path != std::string(kEventsPrefix) + a.name &&
                 overlap(b, b.route, a, plain_a)) {
        message = "path " + quote(b.path) + " collides with " +
                  quote(std::string(kEventsPrefix) + a.name) + ", the default path of stream " +
                  quote(a.name) + " (line " + std::to_string(a.name_line) + ")";
      } else if (b.name_ok && a.route_ok && b.path != std::string(kEventsPrefix) + b.name &&
                 overlap(a, a.route, b, plain_b)) {
        message = "the default path " + quote(std::string(kEventsPrefix) + b.name) +
                  " of this stream is matched by path " + quote(a.path) + " " + other;
      } else if (a.route_ok && b.route_ok && overlap(a, a.route, b, b.route)) {
        message = "path " + quote(b.path) + " can match the same requests as " + quote(a.path) +
                  " " + other;
      }
      if (!message.empty()) {
        problem(b.path_pos,
                (b.path_field.empty() ? "streams[" + std::to_string(j) + "]" : b.path_field) +
                    ": " + message);
        break;  // one route problem per stream is enough
      }
    }
  }
}

}  // namespace

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error([&] {
        std::string joined;
        for (const auto& p : problems) {
          if (!joined.empty()) joined += '\n';
          joined += p;
        }
        return joined;
      }()),
      problems_(std::move(problems)) {}

Config parse_config(const std::string& yaml_text, const std::string& file_name,
                    const EnvLookup& getenv) {
  Loader loader(file_name, getenv);
  return loader.run(yaml_text);
}

Config load_config(const std::string& path, const EnvLookup& getenv) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) throw ConfigError({path + ": cannot read: " + std::strerror(errno)});
  std::string text;
  char buffer[1 << 16];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) throw ConfigError({path + ": cannot read: " + std::strerror(error)});
  return parse_config(text, path, getenv);
}

Config load_config(const std::string& path) {
  return load_config(path, process_env);
}

}  // namespace pb::config
