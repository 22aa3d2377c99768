#include "config/keys.h"

#include <algorithm>
#include <map>

namespace pb::config {
namespace {

// A key that is one member of Config: `member` is its path below Config,
// compared with ==, and named as the field it fills.
#define PB_KEY(path, member, type, def, range, apply)                                      \
  Key {                                                                                    \
    path, KeyType::type, def, range, Apply::apply, #member,                                \
        [](const Config& a, const Config& b) { return !(a.member == b.member); }, nullptr, \
        [](Config& to, const Config& from) { to.member = from.member; }                    \
  }
// A key of a streams[] entry: `member` is its path below StreamConfig.
#define PB_STREAM_KEY(path, member, type, def, range, apply)                                   \
  Key {                                                                                        \
    "streams[]." path, KeyType::type, def, range, Apply::apply, "streams[]." #member, nullptr, \
        [](const StreamConfig& a, const StreamConfig& b) { return !(a.member == b.member); },  \
        nullptr                                                                                \
  }
// A key compared as part of something larger (a section, an entry of a
// list of maps): no comparison of its own.
#define PB_PART(path, fields, type, def, range, apply)                               \
  Key {                                                                              \
    path, KeyType::type, def, range, Apply::apply, fields, nullptr, nullptr, nullptr \
  }

bool same_listen(const Config& a, const Config& b) {
  return a.server.host == b.server.host && a.server.port == b.server.port;
}
bool same_admin_listen(const Config& a, const Config& b) {
  return a.server.admin_host == b.server.admin_host && a.server.admin_port == b.server.admin_port;
}

std::vector<Key> make_keys() {
  return {
      PB_PART("server", "server", kSection, "", "", kLive),
      PB_KEY("history", history, kInteger, "1000", "1..1000000", kLive),
      PB_KEY("history_bytes", history_bytes, kSize, "64MiB", "1KiB..64GiB", kLive),
      PB_PART("state", "state", kSection, "", "", kLive),
      PB_PART("log", "log", kSection, "", "", kLive),
      Key{"auth", KeyType::kSection, "", "", Apply::kLive, "auth auth.enabled",
          [](const Config& a, const Config& b) { return a.auth.enabled != b.auth.enabled; },
          nullptr, [](Config& to, const Config& from) { to.auth.enabled = from.auth.enabled; }},
      PB_PART("streams", "streams", kSectionList, "", "at least one", kStream),

      Key{"server.listen", KeyType::kListen, "127.0.0.1:8080", "port 0..65535", Apply::kRestart,
          "server.host server.port",
          [](const Config& a, const Config& b) { return !same_listen(a, b); }, nullptr,
          [](Config& to, const Config& from) {
            to.server.host = from.server.host;
            to.server.port = from.server.port;
          }},
      PB_KEY("server.heartbeat", server.heartbeat, kDuration, "15s", "1s..1h", kLive),
      PB_KEY("server.retry", server.retry, kDuration, "3s", "0s..1h", kLive),
      PB_KEY("server.longpoll_timeout", server.longpoll_timeout, kDuration, "25s", "1s..5m", kLive),
      PB_KEY("server.workers", server.workers, kInteger, "8", "1..256", kRestart),
      PB_KEY("server.hub_threads", server.hub_threads, kInteger, "0", "0..64", kRestart),
      PB_KEY("server.backlog", server.backlog, kInteger, "4096", "1..65535", kRestart),
      PB_KEY("server.reuse_port", server.reuse_port, kBool, "false", "", kRestart),
      PB_KEY("server.header_timeout", server.header_timeout, kDuration, "10s", "10ms..1h",
             kRestart),
      PB_KEY("server.max_header_bytes", server.max_header_bytes, kSize, "16KiB", "1KiB..1MiB",
             kRestart),
      PB_KEY("server.keepalive_timeout", server.keepalive_timeout, kDuration, "60s", "0s..1h",
             kRestart),
      PB_KEY("server.keepalive_requests", server.keepalive_requests, kInteger, "1000", "1..1000000",
             kRestart),
      PB_KEY("server.max_request_body", server.max_request_body, kSize, "64KiB", "0..1GiB",
             kRestart),
      PB_KEY("server.body_timeout", server.body_timeout, kDuration, "30s", "10ms..1h", kRestart),
      PB_KEY("server.max_connections", server.max_connections, kInteger, "0", "0..10000000",
             kRestart),
      PB_KEY("server.max_connections_per_ip", server.max_connections_per_ip, kInteger, "0",
             "0..10000000", kRestart),
      PB_KEY("server.max_pending_admissions_per_client", server.max_pending_admissions_per_client,
             kInteger, "32", "1..1000000", kRestart),
      PB_KEY("server.ipv6_prefix", server.ipv6_prefix, kInteger, "64", "1..128", kRestart),
      // Turning TLS on or off waits for a restart (diff_config); while it
      // stays on, every reload loads the files again (certificate rotation).
      PB_PART("server.tls", "server.tls", kSection, "", "", kLive),
      PB_KEY("server.tls.cert", server.tls.cert, kString, "", "an existing PEM file", kLive),
      PB_KEY("server.tls.key", server.tls.key, kString, "", "an existing PEM file", kLive),
      PB_KEY("server.tls.min_version", server.tls.min_version, kString, "1.2", "1.2 | 1.3", kLive),
      PB_KEY("server.tls.ciphers", server.tls.ciphers, kString, "", "OpenSSL cipher list", kLive),
      PB_KEY("server.tls.session_tickets", server.tls.session_tickets, kBool, "true", "", kLive),
      PB_KEY("server.tls.client_ca", server.tls.client_ca, kString, "", "an existing PEM file",
             kLive),
      PB_KEY("server.max_clients", server.max_clients, kInteger, "100000", "1..10000000", kRestart),
      PB_KEY("server.client_backlog_events", server.client_backlog_events, kInteger, "1024",
             "1..1000000", kRestart),
      PB_KEY("server.client_backlog_bytes", server.client_backlog_bytes, kSize, "8MiB",
             "1KiB..1GiB", kRestart),
      PB_KEY("server.admin_token", server.admin_token, kString, "",
             "no spaces or control characters", kLive),
      PB_KEY("server.cors_origins", server.cors_origins, kStringList, "[]",
             "\"*\" or scheme://host[:port] origins", kLive),
      PB_KEY("server.compression", server.compression, kStringList, "[gzip]", "gzip, deflate",
             kLive),
      PB_KEY("server.shutdown_timeout", server.shutdown_timeout, kDuration, "5s", "0s..10m", kLive),
      PB_KEY("server.static_dir", server.static_dir, kString, "", "an existing directory",
             kRestart),
      PB_KEY("server.cors_credentials", server.cors_credentials, kBool, "false",
             "needs cors_origins, not \"*\"", kLive),
      Key{"server.admin_listen", KeyType::kListen, "", "like listen, another address",
          Apply::kRestart, "server.admin_host server.admin_port",
          [](const Config& a, const Config& b) { return !same_admin_listen(a, b); }, nullptr,
          [](Config& to, const Config& from) {
            to.server.admin_host = from.server.admin_host;
            to.server.admin_port = from.server.admin_port;
          }},
      PB_KEY("server.public_metrics", server.public_metrics, kBool, "false", "", kLive),

      PB_KEY("state.dir", state.dir, kString, "./data", "", kRestart),
      PB_KEY("state.fsync", state.fsync, kBool, "false", "", kRestart),
      PB_KEY("state.redis", state.redis, kString, "",
             "redis://[[user]:password@]host[:port][/db] or "
             "redis+sentinel://[[user]:password@]host:port[,host:port...]/MASTER_NAME[/db]",
             kRestart),
      PB_KEY("state.sentinel_password", state.sentinel_password, kString, "",
             "needs a redis+sentinel:// state.redis", kRestart),
      PB_KEY("state.lease", state.lease, kDuration, "3s", "500ms..1m", kRestart),
      PB_KEY("state.prefix", state.prefix, kString, "pollbridge:", "no spaces, at most 256 bytes",
             kRestart),

      PB_KEY("log.format", log.format, kString, "text", "text | json", kLive),
      PB_KEY("log.level", log.level, kString, "info", "debug | info | warn | error", kLive),
      PB_KEY("log.access", log.access, kBool, "true", "", kLive),

      PB_PART("auth.jwt", "auth.jwt", kSection, "", "", kLive),
      PB_KEY("auth.jwt.keys", auth.jwt.keys, kSectionList, "", "at least one; kids unique", kLive),
      PB_PART("auth.jwt.keys[].alg", "auth.jwt.keys[].alg", kString, "",
              "HS256 | HS384 | HS512 | RS256 | RS384 | RS512 | ES256 | ES384", kLive),
      PB_PART("auth.jwt.keys[].file", "auth.jwt.keys[].file", kString, "", "a PEM public key",
              kLive),
      PB_PART("auth.jwt.keys[].secret", "auth.jwt.keys[].material", kString, "",
              "at least 32/48/64 bytes", kLive),
      PB_PART("auth.jwt.keys[].kid", "auth.jwt.keys[].kid", kString, "", "non-empty, unique",
              kLive),
      PB_KEY("auth.jwt.issuer", auth.jwt.issuer, kString, "", "non-empty", kLive),
      PB_KEY("auth.jwt.audience", auth.jwt.audience, kStringList, "", "non-empty values", kLive),
      PB_KEY("auth.jwt.leeway", auth.jwt.leeway, kDuration, "30s", "0s..5m", kLive),
      PB_KEY("auth.jwt.streams_claim", auth.jwt.streams_claim, kString, "streams", "non-empty",
             kLive),
      PB_KEY("auth.tokens", auth.tokens, kStringList, "[]", "each at least 16 characters", kLive),
      PB_KEY("auth.cookie", auth.cookie, kString, "", "a cookie name", kLive),
      PB_KEY("auth.query_param", auth.query_param, kString, "", "A-Z a-z 0-9 - . _ ~", kLive),

      PB_STREAM_KEY("name", name, kString, "", "[A-Za-z0-9_.-]{1,64}, unique", kStream),
      PB_STREAM_KEY("url", url, kString, "", "http or https URL", kStream),
      PB_STREAM_KEY("path", path, kString, "/events/<name>", "", kStream),
      PB_STREAM_KEY("params", params, kStringMap, "{}", "name -> regex", kStream),
      PB_STREAM_KEY("max_instances", max_instances, kInteger, "100", "1..1000000", kStream),
      PB_STREAM_KEY("max_instances_per_client", max_instances_per_client, kInteger, "",
                    "1..1000000", kStream),
      PB_STREAM_KEY("interval", interval, kDuration, "1s", "10ms..24h", kStream),
      PB_STREAM_KEY("timeout", timeout, kDuration, "5s", "10ms..10m", kStream),
      PB_STREAM_KEY("method", method, kString, "GET", "GET | POST", kStream),
      PB_STREAM_KEY("body", body, kString, "", "only with POST", kStream),
      PB_STREAM_KEY("content_type", content_type, kString, "application/json", "", kStream),
      PB_STREAM_KEY("headers", headers, kStringMap, "{}", "name -> value", kStream),
      PB_STREAM_KEY("parse", parse, kString, "json", "json | xml | csv | html", kStream),
      PB_STREAM_KEY("xml", xml, kSection, "", "with parse: xml", kStream),
      PB_STREAM_KEY("xml.namespaces", xml.keep_namespaces, kString, "drop", "drop | keep", kStream),
      PB_STREAM_KEY("xml.arrays", xml.arrays, kStringList, "[]",
                    "absolute element paths, local names, no indices", kStream),
      PB_STREAM_KEY("csv", csv, kSection, "", "only with parse: csv", kStream),
      PB_PART("streams[].csv.header", "streams[].csv.header", kBool, "true", "", kStream),
      PB_PART("streams[].csv.delimiter", "streams[].csv.delimiter", kString, ",",
              "one byte, not CR, LF or the quote", kStream),
      PB_PART("streams[].csv.quote", "streams[].csv.quote", kString, "\"", "one byte, not CR or LF",
              kStream),
      PB_STREAM_KEY("html", html, kSection, "", "only with parse: html, which requires it",
                    kStream),
      PB_PART("streams[].html.rows", "streams[].html.rows", kString, "", "an XPath 1.0 expression",
              kStream),
      PB_PART("streams[].html.fields", "streams[].html.fields", kStringMap, "{}",
              "name -> XPath 1.0 relative to a row", kStream),
      PB_STREAM_KEY("diff", diff, kString, "json-patch",
                    "snapshot | json-patch | merge-patch | items | text", kStream),
      PB_STREAM_KEY("select", select, kString, "", "an RFC 6901 pointer", kStream),
      PB_STREAM_KEY("ignore", ignore, kStringList, "[]", "RFC 6901 pointers", kStream),
      PB_STREAM_KEY("key", key, kString, "", "required with diff: items", kStream),
      PB_STREAM_KEY("idle", idle, kString, "keep", "keep | stop", kStream),
      PB_STREAM_KEY("linger", linger, kDuration, "30s", "0s..24h", kStream),
      PB_STREAM_KEY("max_body", max_body, kSize, "4MiB", "1KiB..1GiB", kStream),
      PB_STREAM_KEY("max_header_bytes", max_header_bytes, kSize, "64KiB", "1KiB..1MiB", kStream),
      PB_STREAM_KEY("max_connections_per_host", max_connections_per_host, kInteger, "8", "1..1024",
                    kStream),
      PB_STREAM_KEY("backoff_max", backoff_max, kDuration, "60s", "10ms..24h, at least interval",
                    kStream),
      PB_STREAM_KEY("tls_verify", tls_verify, kBool, "true", "", kStream),
      PB_STREAM_KEY("ca_file", ca_file, kString, "", "an existing PEM file", kStream),
      PB_STREAM_KEY("client_cert", client_cert, kString, "", "an existing PEM file", kStream),
      PB_STREAM_KEY("client_key", client_key, kString, "", "an existing PEM file", kStream),
      // Applied to the running instances: the kept history grows or is cut
      // at the next event.
      PB_STREAM_KEY("history", history, kInteger, "", "1..1000000", kLive),
      PB_STREAM_KEY("auth", auth.mode, kString, "", "none | required | upstream", kStream),
      PB_STREAM_KEY("forward_headers", auth.forward_headers, kStringList, "[]", "at most 16",
                    kStream),
      PB_STREAM_KEY("persist", auth.persist, kBool, "true", "", kStream),
      PB_STREAM_KEY("bind", auth.bind, kStringMap, "{}", "parameter -> claim", kStream),
      PB_STREAM_KEY("retention", retention, kDuration, "", "1s..365d", kStream),
      PB_STREAM_KEY("pages", pages, kSection, "", "", kStream),
      PB_PART("streams[].pages.next", "streams[].pages.next", kString, "",
              "link | an RFC 6901 pointer", kStream),
      PB_PART("streams[].pages.items", "streams[].pages.items", kString, "", "an RFC 6901 pointer",
              kStream),
      PB_PART("streams[].pages.cursor_param", "streams[].pages.cursor_param", kString, "",
              "A-Z a-z 0-9 - . _ ~", kStream),
      PB_PART("streams[].pages.max", "streams[].pages.max", kInteger, "20", "1..1000", kStream),
      PB_STREAM_KEY("oauth2", oauth2, kSection, "", "", kStream),
      PB_PART("streams[].oauth2.token_url", "streams[].oauth2.token_url", kString, "",
              "http or https URL", kStream),
      PB_PART("streams[].oauth2.client_id", "streams[].oauth2.client_id", kString, "", "required",
              kStream),
      PB_PART("streams[].oauth2.client_secret", "streams[].oauth2.client_secret", kString, "",
              "required", kStream),
      PB_PART("streams[].oauth2.scope", "streams[].oauth2.scope", kString, "", "", kStream),
      PB_PART("streams[].oauth2.audience", "streams[].oauth2.audience", kString, "", "", kStream),
      PB_PART("streams[].oauth2.auth", "streams[].oauth2.auth", kString, "basic", "basic | post",
              kStream),
      PB_PART("streams[].oauth2.params", "streams[].oauth2.params", kStringMap, "{}",
              "name -> value", kStream),
      PB_STREAM_KEY("login", login, kSection, "", "", kStream),
      PB_PART("streams[].login.url", "streams[].login.url", kString, "", "http or https URL",
              kStream),
      PB_PART("streams[].login.method", "streams[].login.method", kString, "POST", "GET | POST",
              kStream),
      PB_PART("streams[].login.body", "streams[].login.body", kString, "", "only with POST",
              kStream),
      PB_PART("streams[].login.content_type", "streams[].login.content_type", kString,
              "application/x-www-form-urlencoded", "", kStream),
      PB_PART("streams[].login.headers", "streams[].login.headers", kStringMap, "{}",
              "name -> value", kStream),
  };
}

#undef PB_KEY
#undef PB_STREAM_KEY
#undef PB_PART

std::string_view section_of(std::string_view path) {
  const std::size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

}  // namespace

const std::vector<Key>& keys() {
  static const std::vector<Key> table = make_keys();
  return table;
}

const Key* find_key(std::string_view path) {
  for (const Key& k : keys()) {
    if (k.path == path) return &k;
  }
  return nullptr;
}

const std::vector<std::string>& child_keys(std::string_view section) {
  static const std::map<std::string, std::vector<std::string>, std::less<>> children = [] {
    std::map<std::string, std::vector<std::string>, std::less<>> out;
    for (const Key& k : keys()) {
      const std::string_view parent = section_of(k.path);
      out[std::string(parent)].emplace_back(k.path.substr(parent.empty() ? 0 : parent.size() + 1));
    }
    return out;
  }();
  static const std::vector<std::string> none;
  auto it = children.find(section);
  return it == children.end() ? none : it->second;
}

const std::vector<std::string_view>& fields_without_key() {
  static const std::vector<std::string_view> fields = {
      "file",                        // the path the config was read from
      "server.tls.cert_where",       // positions of the TLS keys, for the
      "server.tls.key_where",        // errors found when the files load
      "server.tls.client_ca_where",  //
      "server.tls.ciphers_where",    //
      "auth.jwt.keys[].where",       // position of a key's entry
      "streams[].where",             // position of a stream's entry
  };
  return fields;
}

ConfigChanges diff_config(const Config& running, const Config& started, const Config& next) {
  ConfigChanges out;
  const bool tls_toggled = started.server.tls.enabled() != next.server.tls.enabled();
  if (tls_toggled) out.needs_restart.emplace_back("server.tls");
  for (const Key& k : keys()) {
    if (k.differs == nullptr) continue;
    const bool tls_key = k.path.rfind("server.tls.", 0) == 0;
    if (tls_key && (tls_toggled || !next.server.tls.enabled())) continue;
    if (k.apply == Apply::kRestart) {
      // Compared with what the process started with: a change stays
      // reported until the restart that applies it.
      if (k.differs(started, next)) out.needs_restart.emplace_back(k.path);
    } else if (k.differs(running, next)) {
      out.live.emplace_back(k.path);
    }
  }
  return out;
}

Config in_force(const Config& started, const Config& next) {
  Config out = next;
  if (started.server.tls.enabled() != next.server.tls.enabled())
    out.server.tls = started.server.tls;
  for (const Key& k : keys()) {
    if (k.apply == Apply::kRestart && k.keep != nullptr) k.keep(out, started);
  }
  return out;
}

StreamChanges stream_key_changes(const StreamConfig& a, const StreamConfig& b) {
  StreamChanges out;
  for (const Key& k : keys()) {
    if (k.stream_differs == nullptr || !k.stream_differs(a, b)) continue;
    (k.apply == Apply::kLive ? out.live : out.replace).emplace_back(k.path);
  }
  return out;
}

}  // namespace pb::config
