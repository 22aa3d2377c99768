// The configuration as the rest of pollbridge sees it: plain structs with
// every default filled in and every value validated. Built by load_config()
// (config/loader.h); nothing here knows about YAML or sockets.
//
// Threads: values; a Config is built by one thread and read, never
// changed, by any thread after (a reload builds a new one).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pb::config {

using Duration = std::chrono::milliseconds;

// How an upstream body becomes a document (`parse:`): ingest/decode.h.
enum class ParseMode { kJson, kXml, kCsv, kHtml };

enum class DiffMode {
  kSnapshot,    // whole document on every change
  kJsonPatch,   // RFC 6902
  kMergePatch,  // RFC 7386
  kItems,       // keyed array: created / updated / deleted per element
  kText,        // non-JSON body: whole body as a snapshot when it changes
};

enum class IdlePolicy {
  kStop,  // stop polling `linger` after the last client left
  kKeep,  // poll whether or not anyone listens
};

// server.tls: HTTPS served by pollbridge itself (server/tls_context).
struct TlsConfig {
  std::string cert;       // PEM: the certificate, then its chain; empty = no TLS
  std::string key;        // PEM private key of `cert`
  std::string client_ca;  // PEM CA bundle; set = clients must present a certificate it signed
  std::string min_version = "1.2";  // "1.2" or "1.3"; 1.0 and 1.1 are refused
  std::string ciphers;              // TLS 1.2 cipher list (OpenSSL syntax); empty = the default
  bool session_tickets = true;      // one stateless resumption ticket per handshake
  // Where each file was named in the config ("file:line:col"), for errors
  // found when the files are loaded (server/tls_context).
  std::string cert_where, key_where, client_ca_where, ciphers_where;

  bool enabled() const { return !cert.empty(); }
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  Duration heartbeat{15000};  // SSE comment interval
  Duration retry{3000};       // SSE retry: field
  // How long a long-poll request with nothing to answer waits before it is
  // answered with no events (server/long_poll.h).
  Duration longpoll_timeout{25000};
  // Threads that parse and route HTTP requests. SSE connections leave them
  // once validated, so this bounds concurrent handshakes, not clients.
  std::size_t workers = 8;
  // Threads that own SSE sockets (epoll loops). 0 = one per core, at most 4.
  std::size_t hub_threads = 0;
  // listen(2) backlog: a reconnect storm of thousands must not wait on SYN
  // retries.
  int backlog = 4096;
  // SO_REUSEPORT on the listening socket: several processes share the port
  // (the kernel spreads connections). Off, a taken port fails start-up.
  bool reuse_port = false;
  // The front door (server/connection_loop): one deadline for a whole
  // request head (408), a cap on its size (431), idle keep-alive, a cap on
  // request bodies (413) read in full under their own deadline (408).
  Duration header_timeout{10000};
  std::size_t max_header_bytes = 16u << 10;
  Duration keepalive_timeout{60000};  // 0: close after every response
  std::size_t keepalive_requests = 1000;
  std::size_t max_request_body = 64u << 10;
  Duration body_timeout{30000};
  // Connections in every state (handshakes, heads, keep-alive, SSE); further
  // ones get 503. 0: the open-file limit less kReservedFds.
  std::size_t max_connections = 0;
  // Connections per client address; further ones get 429. 0: no limit.
  std::size_t max_connections_per_ip = 0;
  // auth: upstream admissions waiting for their upstream's answer at once
  // from one client address (parked on the connection loop, no thread
  // each); further ones get 429.
  std::size_t max_pending_admissions_per_client = 32;
  // The bits of an IPv6 client address that name one client, for the
  // per-address limits and the per-client caps (common/client_prefix.h).
  // IPv4 addresses always count whole.
  unsigned ipv6_prefix = 64;
  TlsConfig tls;
  // Most SSE connections held at once; further ones get 503.
  std::size_t max_clients = 100000;
  // A client more than this many events, or bytes, behind the stream is
  // disconnected (it reconnects with Last-Event-ID and resumes).
  std::size_t client_backlog_events = 1024;
  std::size_t client_backlog_bytes = 8u << 20;
  // Bearer token for POST /streams/{name}/poll and /admin/*. Empty disables
  // those endpoints.
  std::string admin_token;
  // Allowed CORS origins ("*" for any). Empty: no CORS headers.
  std::vector<std::string> cors_origins;
  // Content codings offered to clients that ask (Accept-Encoding), in order
  // of preference: "gzip", "deflate". Empty: every response is plain.
  std::vector<std::string> compression{"gzip"};
  // Bound on a graceful shutdown (SIGTERM/SIGINT).
  Duration shutdown_timeout{5000};
  // Folder served at "/" (e.g. the example's browser page). Empty: nothing
  // is served there. Relative paths are relative to the process cwd.
  std::string static_dir;
  // Answer allowed origins with Access-Control-Allow-Credentials: true (and
  // the echoed origin, never "*": the loader refuses "*" with this).
  bool cors_credentials = false;
  // With access control (auth:) and no admin_listen, GET /metrics needs the
  // admin token unless this says the main listener may serve it to anyone
  // (scrapers on a private network). Never with admin_listen: /metrics is
  // served there only.
  bool public_metrics = false;
  // A separate address for the admin endpoints (server.admin_listen).
  // admin_port < 0: they stay on the main listener.
  std::string admin_host;
  int admin_port = -1;
};

struct StateConfig {
  std::string dir = "./data";  // empty: memory only
  bool fsync = false;          // fsync every event (survives power loss)
  // Several instances coordinated through Redis (docs/cluster.md):
  // "redis://[:password@]host:6379/0" switches the store to Redis. Secret
  // (the password): never logged, see config::RedisUrl::redacted().
  std::string redis;
  Duration lease{3000};                // poll lease; failover within about this
  std::string prefix = "pollbridge:";  // key prefix in Redis
  // The sentinels' password (redis+sentinel:// URLs; the URL's own
  // password is the master's). Secret: never logged.
  std::string sentinel_password;
};

// Who may read a stream (streams[].auth).
enum class AuthMode {
  kNone,      // anyone
  kRequired,  // a valid token (auth.jwt or auth.tokens) that covers the address
  kUpstream,  // admitted once the upstream answered 2xx for the forwarded headers
};

// A stream's access settings (docs/security.md). Grouped so that a reload can
// compare them as one value.
struct StreamAuth {
  // Resolved by the loader: kRequired when a top-level auth: exists and the
  // stream says nothing, kNone when there is no auth: section.
  AuthMode mode = AuthMode::kNone;
  // Request headers polled with each client's own values (per-user
  // instances); canonical spelling as written in the config.
  std::vector<std::string> forward_headers;
  // Documents and history written to the state store. Default: true, false
  // for a stream with forward_headers (per-user data stays in memory).
  bool persist = true;
  // Parameter -> claim: the parameter's value must equal the token's claim
  // (bind: { customer: sub }).
  std::map<std::string, std::string> bind;

  bool operator==(const StreamAuth& o) const {
    return mode == o.mode && forward_headers == o.forward_headers && persist == o.persist &&
           bind == o.bind;
  }
  bool operator!=(const StreamAuth& o) const { return !(*this == o); }
};

// `xml:` of a stream with `parse: xml` (ingest/xml_mapping.h).
struct XmlOptions {
  // namespaces: keep — members are named `prefix:name` as written; drop (the
  // default): local names.
  bool keep_namespaces = false;
  // Absolute element paths in local names ("/Envelope/Body/list/item"):
  // always arrays, `[]` when their parent is there without them.
  std::vector<std::string> arrays;

  bool operator==(const XmlOptions& o) const {
    return keep_namespaces == o.keep_namespaces && arrays == o.arrays;
  }
  bool operator!=(const XmlOptions& o) const { return !(*this == o); }
};

// csv: how a `parse: csv` body is read (ingest/csv_reader.h). One byte
// each; the loader refuses CR, LF and a delimiter equal to the quote.
struct CsvOptions {
  bool header = true;  // the first row names the columns: rows become objects
  char delimiter = ',';
  char quote = '"';

  bool operator==(const CsvOptions& o) const {
    return header == o.header && delimiter == o.delimiter && quote == o.quote;
  }
};

// html: what a `parse: html` body becomes (ingest/html_extract.h): one
// object per node `rows` selects, one member per field, in the order of the
// config. XPath 1.0 expressions, compiled by the loader.
struct HtmlOptions {
  std::string rows;                                         // empty only without parse: html
  std::vector<std::pair<std::string, std::string>> fields;  // name -> XPath relative to a row

  bool operator==(const HtmlOptions& o) const { return rows == o.rows && fields == o.fields; }
};

// A paged list (streams[].pages): one poll reads every page and the
// document is their items concatenated. Off while `next` is empty.
struct PagesConfig {
  // "link": the RFC 8288 Link header's rel="next"; otherwise an RFC 6901
  // pointer to the next page's URL (or, with cursor_param, to a cursor).
  std::string next;
  std::string items;         // pointer to each page's array; "": the page is the array
  std::string cursor_param;  // query parameter that carries the cursor; "": `next` is a URL
  std::size_t max = 20;      // most pages read in one poll

  bool enabled() const { return !next.empty(); }
  bool operator==(const PagesConfig& o) const {
    return next == o.next && items == o.items && cursor_param == o.cursor_param && max == o.max;
  }
};

// OAuth2 client credentials (RFC 6749 section 4.4; streams[].oauth2). Off
// while `token_url` is empty. The secret and every token are secret: never
// logged, never in /streams or /metrics.
struct OAuth2Config {
  std::string token_url;
  std::string client_id;
  std::string client_secret;
  std::string scope;           // "": not sent
  std::string audience;        // "": not sent
  std::string auth = "basic";  // basic (HTTP Basic) | post (in the form)
  std::vector<std::pair<std::string, std::string>> params;  // extra form fields

  bool enabled() const { return !token_url.empty(); }
  bool operator==(const OAuth2Config& o) const {
    return token_url == o.token_url && client_id == o.client_id &&
           client_secret == o.client_secret && scope == o.scope && audience == o.audience &&
           auth == o.auth && params == o.params;
  }
};

// A login request whose cookies (a session) are sent with every poll
// (streams[].login). Off while `url` is empty. Body and headers are secret.
struct LoginConfig {
  std::string url;
  std::string method = "POST";
  std::string body;
  std::string content_type = "application/x-www-form-urlencoded";
  std::vector<std::pair<std::string, std::string>> headers;

  bool enabled() const { return !url.empty(); }
  bool operator==(const LoginConfig& o) const {
    return url == o.url && method == o.method && body == o.body && content_type == o.content_type &&
           headers == o.headers;
  }
};

struct StreamConfig;
// The effective max_instances_per_client for a client identified by its
// token's subject (`authenticated`) or only by its IP address. Unset, it is
// a quarter of max_instances (at least 1) for authenticated clients and no
// cap for addresses (many users behind one NAT or load balancer share one).
std::size_t per_client_cap(const StreamConfig& s, bool authenticated);

struct StreamConfig {
  std::string name;
  std::string url;   // may contain {param} placeholders when `params` is set
  std::string path;  // "/events/<name>" or a pattern with {param}s
  std::map<std::string, std::string> params;  // param -> regex
  std::size_t max_instances = 100;            // live parameter sets
  // Instances (parameter sets, per-user instances) one client may cause to
  // exist at once; 0: the default (see per_client_cap()).
  std::size_t max_instances_per_client = 0;
  Duration interval{1000};
  Duration timeout{5000};
  std::string method = "GET";
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  ParseMode parse = ParseMode::kJson;
  XmlOptions xml;    // with parse: xml
  CsvOptions csv;    // with parse: csv
  HtmlOptions html;  // with parse: html
  DiffMode diff = DiffMode::kJsonPatch;
  std::string select;               // RFC 6901 pointer; empty = whole document
  std::vector<std::string> ignore;  // RFC 6901 pointers dropped before diffing
  std::string key;                  // member name or pointer identifying array elements
  IdlePolicy idle = IdlePolicy::kKeep;
  Duration linger{30000};  // with idle: stop
  std::size_t max_body = 4u << 20;
  Duration backoff_max{60000};  // ceiling of the error backoff; loader default: max(60s, interval)
  // Response status line and headers together, in bytes; a larger head
  // fails the poll.
  std::size_t max_header_bytes = 64u << 10;
  // Most requests in flight at once to this stream's upstream host (scheme,
  // host and port); further polls wait for a free slot. Streams sharing a
  // host share its slots, capped by the smallest value among them.
  std::size_t max_connections_per_host = 8;
  bool tls_verify = true;
  std::string ca_file;  // extra CA bundle for https upstreams, added to the system store
  // PEM client certificate (chain) and its key, for mutual TLS to the
  // upstream; both or neither.
  std::string client_cert;
  std::string client_key;
  std::size_t history = 1000;  // per-stream override of the top-level value
  // How long a reaped parameterized instance's saved state is kept for its
  // return (deleted afterwards). 0: history × interval, clamped to 1 min..24 h.
  Duration retention{0};
  StreamAuth auth;
  PagesConfig pages;
  OAuth2Config oauth2;
  LoginConfig login;

  // Position of the stream's entry in the config file, for error messages.
  std::string where;
};

// One verification key (auth.jwt.keys[]). The loader has read and checked
// the material: a PEM public key that fits `alg` (from `file`), or an HMAC
// secret at least as long as the hash. auth/key_set.h builds the keys.
struct JwtKeyConfig {
  std::string alg;       // canonical name: HS256 ... ES384
  std::string kid;       // empty: the key has no kid
  std::string file;      // the PEM file's path (for messages); empty for a secret
  std::string material;  // the PEM text, or the secret's bytes
  std::string where;     // file:line:col of the entry

  bool operator==(const JwtKeyConfig& o) const {
    return alg == o.alg && kid == o.kid && file == o.file && material == o.material;
  }
};

struct JwtConfig {
  std::vector<JwtKeyConfig> keys;     // empty: no JWT accepted
  std::string issuer;                 // empty: not checked
  std::vector<std::string> audience;  // empty: a token carrying aud is refused
  Duration leeway{30000};             // clock skew allowed on exp, nbf, iat
  std::string streams_claim = "streams";
};

// The top-level auth: section. `enabled` is false when it is absent.
struct AuthConfig {
  bool enabled = false;
  JwtConfig jwt;
  std::vector<std::string> tokens;  // static bearer tokens that read every stream
  std::string cookie;               // empty: tokens are not read from cookies
  std::string query_param;          // empty: tokens are not read from the URL
};

// What is logged and how (log: section; --log-format/--log-level override
// format and level).
struct LogConfig {
  std::string format = "text";  // text or json
  std::string level = "info";   // debug, info, warn or error
  // An access log line for every SSE connect and disconnect (at info).
  bool access = true;
};

struct Config {
  std::string file;  // path it was loaded from
  ServerConfig server;
  LogConfig log;
  std::size_t history = 1000;
  // Bytes of event data kept per stream for resume: with large documents
  // (snapshot mode, big items) the event count alone could hold gigabytes.
  // The oldest events go first; a client older than what is kept gets a
  // snapshot, as with `history`.
  std::size_t history_bytes = 64u << 20;
  StateConfig state;
  AuthConfig auth;
  std::vector<StreamConfig> streams;
};

// Parses "250ms", "2s", "1m", "1h" (and combinations like "1m30s").
// Returns false if the text is not a duration.
bool parse_duration(const std::string& text, Duration& out);

}  // namespace pb::config
