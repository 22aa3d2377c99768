// The rows of the top level and of the server, state, log and auth
// sections (config/keys_rows.h).
#include "config/keys_rows.h"

namespace pb::config::rows {
namespace {

bool same_main_listen(const Config& a, const Config& b) {
  return a.server.host == b.server.host && a.server.port == b.server.port;
}
bool same_admin_listen(const Config& a, const Config& b) {
  return a.server.admin_host == b.server.admin_host && a.server.admin_port == b.server.admin_port;
}

constexpr unsigned kNone = 0;

}  // namespace

std::vector<Key> global_rows() {
  return {
      PB_PART("server", "server", kSection, "", "", kLive, kNone,
              "The HTTP side: listening, SSE, limits."),
      PB_KEY("history", history, kInteger, "1000", "1..1000000", kLive, kNone,
             "Events kept per stream for clients that resume with Last-Event-ID."),
      PB_KEY("history_bytes", history_bytes, kSize, "64MiB", "1KiB..64GiB", kLive, kNone,
             "Bytes of event data kept per stream for resume, on top of the history count."),
      PB_PART("state", "state", kSection, "", "", kLive, kNone,
              "Where stream state (documents, event ids, history) is kept."),
      PB_PART("log", "log", kSection, "", "", kLive, kNone, "Log format, level and access log."),
      Key{"auth", KeyType::kSection, "", "", Apply::kLive, "auth auth.enabled",
          [](const Config& a, const Config& b) { return a.auth.enabled != b.auth.enabled; },
          nullptr, [](Config& to, const Config& from) { to.auth.enabled = from.auth.enabled; },
          kNone, "Who may read streams: JWT keys, static tokens, where tokens come from."},
      PB_PART("streams", "streams", kSectionList, "", "at least one", kStream, kRequired,
              "The endpoints to poll, one entry per stream."),

      Key{"server.listen", KeyType::kListen, "127.0.0.1:8080", "port 0..65535", Apply::kRestart,
          "server.host server.port",
          [](const Config& a, const Config& b) { return !same_main_listen(a, b); }, nullptr,
          [](Config& to, const Config& from) {
            to.server.host = from.server.host;
            to.server.port = from.server.port;
          },
          kNone, "Address to listen on, host:port ([::1]:8080 for IPv6; port 0: any free port)."},
      PB_KEY("server.heartbeat", server.heartbeat, kDuration, "15s", "1s..1h", kLive, kNone,
             "How often an idle SSE connection gets a comment line."),
      PB_KEY("server.retry", server.retry, kDuration, "3s", "0s..1h", kLive, kNone,
             "The SSE retry: field: how long a browser waits before reconnecting."),
      PB_KEY("server.longpoll_timeout", server.longpoll_timeout, kDuration, "25s", "1s..5m", kLive,
             kNone, "How long a long-poll request with nothing to answer waits."),
      PB_KEY("server.workers", server.workers, kInteger, "8", "1..256", kRestart, kNone,
             "Threads that parse and route HTTP requests."),
      PB_KEY("server.hub_threads", server.hub_threads, kInteger, "0", "0..64", kRestart, kNone,
             "Threads that write events to SSE connections (0: one per core, at most 4)."),
      PB_KEY("server.backlog", server.backlog, kInteger, "4096", "1..65535", kRestart, kNone,
             "The listen(2) backlog."),
      PB_KEY("server.reuse_port", server.reuse_port, kBool, "false", "", kRestart, kNone,
             "SO_REUSEPORT on the listening socket, to share the port between processes."),
      PB_KEY("server.header_timeout", server.header_timeout, kDuration, "10s", "10ms..1h", kRestart,
             kNone, "Deadline of a whole request head (the TLS handshake included)."),
      PB_KEY("server.max_header_bytes", server.max_header_bytes, kSize, "16KiB", "1KiB..1MiB",
             kRestart, kNone, "Largest request line plus headers; a larger one gets 431."),
      PB_KEY("server.keepalive_timeout", server.keepalive_timeout, kDuration, "60s", "0s..1h",
             kRestart, kNone, "How long an idle connection waits for its next request."),
      PB_KEY("server.keepalive_requests", server.keepalive_requests, kInteger, "1000", "1..1000000",
             kRestart, kNone, "Requests on one connection."),
      PB_KEY("server.max_request_body", server.max_request_body, kSize, "64KiB", "0..1GiB",
             kRestart, kNone, "Largest request Content-Length accepted; a larger one gets 413."),
      PB_KEY("server.body_timeout", server.body_timeout, kDuration, "30s", "10ms..1h", kRestart,
             kNone, "A request body must have arrived this long after its head, or 408."),
      PB_KEY("server.max_connections", server.max_connections, kInteger, "0", "0..10000000",
             kRestart, kNone, "Connections held at once (0: the open-file limit less 256)."),
      PB_KEY("server.max_connections_per_ip", server.max_connections_per_ip, kInteger, "0",
             "0..10000000", kRestart, kNone, "Connections from one client address (0: no limit)."),
      PB_KEY("server.max_pending_admissions_per_client", server.max_pending_admissions_per_client,
             kInteger, "32", "1..1000000", kRestart, kNone,
             "auth: upstream admissions waiting at once from one client address."),
      PB_KEY("server.ipv6_prefix", server.ipv6_prefix, kInteger, "64", "1..128", kRestart, kNone,
             "The bits of an IPv6 client address that name one client."),
      // Turning TLS on or off waits for a restart (diff_config); while it
      // stays on, every reload loads the files again (certificate rotation).
      PB_PART("server.tls", "server.tls", kSection, "", "", kLive, kNone,
              "Serve HTTPS (docs/tls.md)."),
      PB_KEY("server.tls.cert", server.tls.cert, kString, "", "an existing PEM file", kLive,
             kRequired, "PEM file: the server certificate, then its chain."),
      PB_KEY("server.tls.key", server.tls.key, kString, "", "an existing PEM file", kLive,
             kRequired, "PEM private key of cert (not encrypted)."),
      PB_KEY("server.tls.min_version", server.tls.min_version, kString, "1.2", "1.2 | 1.3", kLive,
             kValues, "Lowest TLS version accepted."),
      PB_KEY("server.tls.ciphers", server.tls.ciphers, kString, "", "OpenSSL cipher list", kLive,
             kNone, "TLS 1.2 cipher list in OpenSSL syntax, in order of preference."),
      PB_KEY("server.tls.session_tickets", server.tls.session_tickets, kBool, "true", "", kLive,
             kNone, "Resumption by stateless session tickets."),
      PB_KEY("server.tls.client_ca", server.tls.client_ca, kString, "", "an existing PEM file",
             kLive, kNone,
             "PEM CA bundle that client certificates must be signed by (mutual TLS)."),
      PB_KEY("server.max_clients", server.max_clients, kInteger, "100000", "1..10000000", kRestart,
             kNone, "Most SSE connections held at once; further ones get 503."),
      PB_KEY("server.client_backlog_events", server.client_backlog_events, kInteger, "1024",
             "1..1000000", kRestart, kNone,
             "A client this many events behind its stream is disconnected."),
      PB_KEY("server.client_backlog_bytes", server.client_backlog_bytes, kSize, "8MiB",
             "1KiB..1GiB", kRestart, kNone,
             "A client this many bytes of events behind its stream is disconnected."),
      PB_KEY("server.admin_token", server.admin_token, kString, "",
             "no spaces or control characters", kLive, kNone,
             "Bearer token of the admin endpoints; empty disables them. Use ${ENV}."),
      PB_KEY("server.cors_origins", server.cors_origins, kStringList, "[]",
             "\"*\" or scheme://host[:port] origins", kLive, kNone,
             "Origins allowed to read streams from browser pages on other origins."),
      PB_KEY("server.compression", server.compression, kStringList, "[gzip]", "gzip | deflate",
             kLive, kValues | kAnyCase | kListOnly,
             "Content codings offered, in order of preference."),
      PB_KEY("server.shutdown_timeout", server.shutdown_timeout, kDuration, "5s", "0s..10m", kLive,
             kNone, "Upper bound on a graceful shutdown after SIGTERM or SIGINT."),
      PB_KEY("server.static_dir", server.static_dir, kString, "", "an existing directory", kRestart,
             kNone, "A folder served at /; empty: nothing is served there."),
      PB_KEY("server.cors_credentials", server.cors_credentials, kBool, "false",
             "needs cors_origins, not \"*\"", kLive, kNone,
             "Allow credentials (cookies) from the allowed origins."),
      Key{"server.admin_listen", KeyType::kListen, "", "like listen, another address",
          Apply::kRestart, "server.admin_host server.admin_port",
          [](const Config& a, const Config& b) { return !same_admin_listen(a, b); }, nullptr,
          [](Config& to, const Config& from) {
            to.server.admin_host = from.server.admin_host;
            to.server.admin_port = from.server.admin_port;
          },
          kNone, "A separate host:port for the admin endpoints and /metrics."},
      PB_KEY("server.public_metrics", server.public_metrics, kBool, "false", "", kLive, kNone,
             "With auth: and no admin_listen, serve /metrics without the admin token."),

      PB_KEY("state.dir", state.dir, kString, "./data", "", kRestart, kNone,
             "Folder of the SQLite state; empty: in memory."),
      PB_KEY("state.fsync", state.fsync, kBool, "false", "", kRestart, kNone,
             "Flush every event to disk (survives power loss)."),
      PB_KEY("state.redis", state.redis, kString, "",
             "redis://[[user]:password@]host[:port][/db] or "
             "redis+sentinel://[[user]:password@]host:port[,host:port...]/MASTER_NAME[/db]",
             kRestart, kNone, "Keep the state in Redis, shared by several pollbridge processes."),
      PB_KEY("state.sentinel_password", state.sentinel_password, kString, "",
             "needs a redis+sentinel:// state.redis", kRestart, kNone,
             "The password of the Redis sentinels."),
      PB_KEY("state.lease", state.lease, kDuration, "3s", "500ms..1m", kRestart, kNone,
             "The poll lease of each stream instance in a cluster."),
      PB_KEY("state.prefix", state.prefix, kString, "pollbridge:", "no spaces, at most 256 bytes",
             kRestart, kNone, "Prefix of every Redis key."),

      PB_KEY("log.format", log.format, kString, "text", "text | json", kLive, kValues,
             "text for a terminal, json for one object per line."),
      PB_KEY("log.level", log.level, kString, "info", "debug | info | warn | error", kLive, kValues,
             "The least severe level written."),
      PB_KEY("log.access", log.access, kBool, "true", "", kLive, kNone,
             "An access log line for every SSE connect and disconnect."),

      PB_PART("auth.jwt", "auth.jwt", kSection, "", "", kLive, kNone,
              "JSON Web Tokens: the keys, issuer and audience they are checked against."),
      PB_KEY("auth.jwt.keys", auth.jwt.keys, kSectionList, "", "at least one; kids unique", kLive,
             kRequired, "The keys tokens are verified with."),
      PB_PART("auth.jwt.keys[].alg", "auth.jwt.keys[].alg", kString, "",
              "HS256 | HS384 | HS512 | RS256 | RS384 | RS512 | ES256 | ES384", kLive,
              kRequired | kValues, "The key's one algorithm."),
      PB_PART("auth.jwt.keys[].file", "auth.jwt.keys[].file", kString, "", "a PEM public key",
              kLive, kNone, "RS*/ES*: a PEM public key or certificate."),
      PB_PART("auth.jwt.keys[].secret", "auth.jwt.keys[].material", kString, "",
              "at least 32/48/64 bytes", kLive, kNone, "HS*: the shared secret. Use ${ENV}."),
      PB_PART("auth.jwt.keys[].kid", "auth.jwt.keys[].kid", kString, "", "non-empty, unique", kLive,
              kNone, "Tokens whose kid names this key are checked with it alone."),
      PB_KEY("auth.jwt.issuer", auth.jwt.issuer, kString, "", "non-empty", kLive, kNone,
             "The exact iss tokens must carry."),
      PB_KEY("auth.jwt.audience", auth.jwt.audience, kStringList, "", "non-empty values", kLive,
             kNone, "Tokens must carry one of these in aud."),
      PB_KEY("auth.jwt.leeway", auth.jwt.leeway, kDuration, "30s", "0s..5m", kLive, kNone,
             "Clock skew allowed on exp, nbf and iat."),
      PB_KEY("auth.jwt.streams_claim", auth.jwt.streams_claim, kString, "streams", "non-empty",
             kLive, kNone, "The claim listing what a token may read."),
      PB_KEY("auth.tokens", auth.tokens, kStringList, "[]", "each at least 16 characters", kLive,
             kListOnly, "Static bearer tokens that may read every stream."),
      PB_KEY("auth.cookie", auth.cookie, kString, "", "a cookie name", kLive, kNone,
             "Tokens may also come from this cookie."),
      PB_KEY("auth.query_param", auth.query_param, kString, "", "A-Z a-z 0-9 - . _ ~", kLive, kNone,
             "Tokens may also come from this query parameter."),
  };
}

}  // namespace pb::config::rows
