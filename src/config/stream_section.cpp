#include "config/keys.h"
#include "config/loader_impl.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "common/ascii.h"
#include "config/duration.h"
#include "config/param_pattern.h"
#include "config/tls_files.h"
#include "config/url.h"

namespace pb::config {
namespace {

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

}  // namespace

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
  const std::vector<std::string>& kKeys = child_keys("streams[]");
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
  read_csv_html(fields, s);
  read_polling(fields, s);
  read_stream_auth(fields, config, declared, s);  // after headers: they must not overlap
  // After headers and diff: they are checked against them.
  if (const Field* x = fields.find("pages")) read_pages(*x, s);
  if (const Field* x = fields.find("oauth2")) read_oauth2(*x, s);
  if (const Field* x = fields.find("login")) read_login(*x, s);
  check_body_template(fields, declared, s);

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
        std::string why;
        if (auto compiled = ParamPattern::compile(pattern, why)) {
          info.regexes[param] = std::move(compiled);
          s.params[param] = pattern;
        } else {
          problem(p, quote(pattern) + " is not a valid regular expression (" + why +
                         "; patterns are RE2 syntax: no backreferences or lookaround)");
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
        const std::string lower_name = lowercase(name);
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

// parse, diff, select, ignore, key.
void Loader::read_diff_options(const Fields& fields, StreamConfig& s) {
  if (const Field* parse_field = fields.find("parse")) {
    static const std::vector<std::pair<std::string, ParseMode>> kParsers = {
        {"json", ParseMode::kJson},
        {"xml", ParseMode::kXml},
        {"csv", ParseMode::kCsv},
        {"html", ParseMode::kHtml}};
    std::string mode;
    if (read_string(*parse_field, mode)) {
      auto it = std::find_if(kParsers.begin(), kParsers.end(),
                             [&](const auto& m) { return m.first == lowercase(mode); });
      if (it == kParsers.end()) {
        problem(*parse_field, quote(mode) + " is not one of json, xml, csv, html");
      } else {
        s.parse = it->second;
      }
    }
  }
  if (const Field* xml_field = fields.find("xml")) {
    if (s.parse != ParseMode::kXml) {
      problem(*xml_field, "is read only with parse: xml");
    } else {
      read_xml(*xml_field, s);
    }
  }
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
                             [&](const auto& m) { return m.first == lowercase(mode); });
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
    // diff: text keeps the body as it came: nothing parses it.
    if (const Field* parse_field = fields.find("parse");
        parse_field != nullptr && s.parse != ParseMode::kJson) {
      problem(*parse_field,
              "reads the body into a document, which diff: text does not use: drop parse, or "
              "use a document diff (snapshot, json-patch, merge-patch, items)");
    }
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
  if (const Field* x = fields.find("max_instances_per_client")) {
    read_integer(*x, 1, kMaxInstances, s.max_instances_per_client);
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
      if (lowercase(idle) == "stop") {
        s.idle = IdlePolicy::kStop;
      } else if (lowercase(idle) == "keep") {
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
  if (const Field* x = fields.find("retention")) {
    read_duration(*x, Duration(1000), kMaxRetention, s.retention);
  }
  if (const Field* x = fields.find("max_header_bytes")) {
    read_size(*x, kMinMaxHeaderBytes, kMaxMaxHeaderBytes, s.max_header_bytes);
  }
  if (const Field* x = fields.find("max_connections_per_host")) {
    read_integer(*x, 1, kMaxConnectionsPerHost, s.max_connections_per_host);
  }
  read_client_certificate(fields, s);
}

// client_cert and client_key: both or neither, readable, and a matching pair.
void Loader::read_client_certificate(const Fields& fields, StreamConfig& s) {
  const Field* cert_field = fields.find("client_cert");
  const Field* key_field = fields.find("client_key");
  if (cert_field == nullptr && key_field == nullptr) return;
  if (key_field == nullptr) {
    problem(*cert_field, "needs client_key: the private key of the client certificate");
    return;
  }
  if (cert_field == nullptr) {
    problem(*key_field, "needs client_cert: the certificate that goes with the key");
    return;
  }
  auto read_file = [&](const Field& f, std::string& out) {
    if (!read_string(f, out)) return false;
    if (out.empty()) {
      problem(f, "must name a PEM file");
      return false;
    }
    return check_existing(f, out, false);
  };
  std::string cert;
  std::string key;
  const bool cert_ok = read_file(*cert_field, cert);
  const bool key_ok = read_file(*key_field, key);
  if (!cert_ok || !key_ok) return;
  std::string why;
  switch (check_key_pair(cert, key, why)) {
    case PairFault::kCertificate:
      problem(*cert_field, why);
      return;
    case PairFault::kKey:
      problem(*key_field, why);
      return;
    case PairFault::kNone:
      break;
  }
  s.client_cert = std::move(cert);
  s.client_key = std::move(key);
}

}  // namespace pb::config

namespace pb::config {

std::size_t per_client_cap(const StreamConfig& s, bool authenticated) {
  if (s.max_instances_per_client != 0) return s.max_instances_per_client;
  return authenticated ? std::max<std::size_t>(1, s.max_instances / 4) : 0;
}

}  // namespace pb::config
