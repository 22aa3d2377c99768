#include "config/keys.h"
#include "config/listen.h"
#include "config/loader_impl.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "common/ascii.h"
#include "config/url.h"

namespace pb::config {
namespace {

// A CORS origin as browsers send it: scheme://host[:port], no path. On
// success `out` is lower-cased (Origin headers are).
bool parse_origin(std::string_view text, std::string& out, std::string& why) {
  if (text == "*") {
    out = "*";
    return true;
  }
  const std::size_t sep = text.find("://");
  const std::string scheme = lowercase(text.substr(0, sep));
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
  out = lowercase(text);
  return true;
}

}  // namespace

void Loader::read_server(const Field& f, ServerConfig& server) {
  const std::vector<std::string>& kKeys = child_keys("server");
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
  if (const Field* x = fields->find("longpoll_timeout"))
    read_duration(*x, kMinLongPollTimeout, kMaxLongPollTimeout, server.longpoll_timeout);
  if (const Field* x = fields->find("workers")) read_integer(*x, 1, kMaxWorkers, server.workers);
  if (const Field* x = fields->find("hub_threads")) {
    read_integer(*x, 0, kMaxHubThreads, server.hub_threads);
  }
  if (const Field* x = fields->find("backlog")) read_integer(*x, 1, kMaxBacklog, server.backlog);
  if (const Field* x = fields->find("reuse_port")) read_bool(*x, server.reuse_port);
  if (const Field* x = fields->find("header_timeout")) {
    read_duration(*x, kMinHeaderTimeout, kMaxHeaderTimeout, server.header_timeout);
  }
  if (const Field* x = fields->find("max_header_bytes")) {
    read_size(*x, kMinHeaderBytes, kMaxHeaderBytes, server.max_header_bytes);
  }
  if (const Field* x = fields->find("keepalive_timeout")) {
    read_duration(*x, Duration(0), kMaxKeepaliveTimeout, server.keepalive_timeout);
  }
  if (const Field* x = fields->find("keepalive_requests")) {
    read_integer(*x, 1, kMaxKeepaliveRequests, server.keepalive_requests);
  }
  if (const Field* x = fields->find("max_request_body")) {
    read_size(*x, 0, kMaxRequestBody, server.max_request_body);
  }
  if (const Field* x = fields->find("body_timeout")) {
    read_duration(*x, kMinHeaderTimeout, kMaxHeaderTimeout, server.body_timeout);
  }
  if (const Field* x = fields->find("max_connections")) {
    read_integer(*x, 0, kMaxConnections, server.max_connections);
  }
  if (const Field* x = fields->find("max_connections_per_ip")) {
    read_integer(*x, 0, kMaxConnections, server.max_connections_per_ip);
  }
  if (const Field* x = fields->find("max_pending_admissions_per_client")) {
    read_integer(*x, 1, kMaxPendingAdmissions, server.max_pending_admissions_per_client);
  }
  if (const Field* x = fields->find("ipv6_prefix")) {
    read_integer(*x, kMinIpv6Prefix, kMaxIpv6Prefix, server.ipv6_prefix);
  }
  if (const Field* x = fields->find("tls")) read_tls(*x, server.tls);
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
  if (const Field* x = fields->find("compression")) {
    std::vector<std::string> names;
    if (read_string_list(*x, false, names)) {
      std::vector<std::string> codings;
      bool ok = true;
      for (std::string name : names) {
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (name != "gzip" && name != "deflate") {
          problem(*x, quote(name) + " is not a coding pollbridge compresses with (gzip, deflate)");
          ok = false;
        } else if (std::find(codings.begin(), codings.end(), name) == codings.end()) {
          codings.push_back(std::move(name));
        }
      }
      if (ok) server.compression = std::move(codings);
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
  if (const Field* x = fields->find("public_metrics")) read_bool(*x, server.public_metrics);
  if (const Field* x = fields->find("cors_credentials")) {
    if (read_bool(*x, server.cors_credentials) && server.cors_credentials) {
      const auto& o = server.cors_origins;
      if (std::find(o.begin(), o.end(), "*") != o.end()) {
        // The Fetch standard forbids "*" with credentials, and echoing any
        // origin instead would let every site read its visitors' streams.
        problem(*x,
                "cannot be true while cors_origins is \"*\": credentials are only ever sent "
                "to origins listed by name (list them in cors_origins)");
      } else if (o.empty() && fields->find("cors_origins") == nullptr) {
        problem(*x, "needs cors_origins: the origins allowed to send credentials");
      }
    }
  }
  if (const Field* x = fields->find("admin_listen")) {
    std::string text;
    if (read_string(*x, text)) {
      std::string why;
      std::string host;
      int port = 0;
      if (!parse_listen(text, host, port, why)) {
        problem(*x, quote(text) + " " + why);
      } else if (port != 0 && host == server.host && port == server.port) {
        problem(*x, quote(text) +
                        " is the main listen address; give another address or drop "
                        "admin_listen");
      } else if (server.admin_token.empty()) {
        problem(*x, "needs admin_token: the admin endpoints are disabled without it");
      } else {
        server.admin_host = std::move(host);
        server.admin_port = port;
      }
    }
  }
}

void Loader::read_tls(const Field& f, TlsConfig& tls) {
  const std::vector<std::string>& kKeys = child_keys("server.tls");
  auto fields = read_section(f, &kKeys);
  if (!fields) return;
  // The files must exist now; what is in them (a certificate that matches
  // its key and has not expired) is checked by server/tls_context when the
  // process starts, at --check and at reload, against these positions.
  auto file = [&](const char* key, std::string& out, std::string& where_out) {
    const Field* x = fields->find(key);
    if (x == nullptr) return;
    std::string path;
    if (read_string(*x, path) && check_existing(*x, path, false)) {
      out = std::move(path);
      where_out = where(x->pos());
    }
  };
  file("cert", tls.cert, tls.cert_where);
  file("key", tls.key, tls.key_where);
  file("client_ca", tls.client_ca, tls.client_ca_where);
  if (fields->find("cert") == nullptr) problem(f, "needs cert (a PEM certificate chain)");
  if (fields->find("key") == nullptr) problem(f, "needs key (the PEM private key of cert)");
  if (const Field* x = fields->find("min_version")) {
    std::string v;
    if (read_string(*x, v)) {
      std::string l = lowercase(v);
      if (l.rfind("tlsv", 0) == 0) l = l.substr(4);
      if (l == "1.2" || l == "1.3") {
        tls.min_version = l;
      } else if (l == "1.0" || l == "1" || l == "1.1") {
        problem(*x, quote(v) +
                        " is refused: TLS 1.0 and 1.1 are deprecated (RFC 8996); use 1.2 or 1.3");
      } else {
        problem(*x, "expected 1.2 or 1.3, got " + quote(v));
      }
    }
  }
  if (const Field* x = fields->find("ciphers")) {
    std::string v;
    if (read_string(*x, v)) {
      if (has_control_char(v, false)) {
        problem(*x, "must not contain control characters");
      } else {
        tls.ciphers = std::move(v);
        tls.ciphers_where = where(x->pos());
      }
    }
  }
  if (const Field* x = fields->find("session_tickets")) read_bool(*x, tls.session_tickets);
}

void Loader::read_state(const Field& f, StateConfig& state) {
  const std::vector<std::string>& kKeys = child_keys("state");
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
  read_cluster_state(*fields, state);
}

}  // namespace pb::config
