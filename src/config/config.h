// The configuration as the rest of pollbridge sees it: plain structs with
// every default filled in and every value validated. Built by load_config()
// (config/loader.h); nothing here knows about YAML or sockets.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pb::config {

using Duration = std::chrono::milliseconds;

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

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  Duration heartbeat{15000};  // SSE comment interval
  Duration retry{3000};       // SSE retry: field
  // Threads that parse and route HTTP requests. SSE connections leave them
  // once validated, so this bounds concurrent handshakes, not clients.
  std::size_t workers = 8;
  // Threads that own SSE sockets (epoll loops). 0 = one per core, at most 4.
  std::size_t hub_threads = 0;
  // listen(2) backlog: a reconnect storm of thousands must not wait on SYN
  // retries.
  int backlog = 4096;
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
  // Bound on a graceful shutdown (SIGTERM/SIGINT).
  Duration shutdown_timeout{5000};
  // Folder served at "/" (e.g. the example's browser page). Empty: nothing
  // is served there. Relative paths are relative to the process cwd.
  std::string static_dir;
};

struct StateConfig {
  std::string dir = "./data";  // empty: memory only
  bool fsync = false;          // fsync every event (survives power loss)
};

struct StreamConfig {
  std::string name;
  std::string url;   // may contain {param} placeholders when `params` is set
  std::string path;  // "/events/<name>" or a pattern with {param}s
  std::map<std::string, std::string> params;  // param -> regex
  std::size_t max_instances = 100;            // live parameter sets
  Duration interval{1000};
  Duration timeout{5000};
  std::string method = "GET";
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
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

  // Position of the stream's entry in the config file, for error messages.
  std::string where;
};

struct Config {
  std::string file;  // path it was loaded from
  ServerConfig server;
  std::size_t history = 1000;
  // Bytes of event data kept per stream for resume: with large documents
  // (snapshot mode, big items) the event count alone could hold gigabytes.
  // The oldest events go first; a client older than what is kept gets a
  // snapshot, as with `history`.
  std::size_t history_bytes = 64u << 20;
  StateConfig state;
  std::vector<StreamConfig> streams;
};

// Parses "250ms", "2s", "1m", "1h" (and combinations like "1m30s").
// Returns false if the text is not a duration.
bool parse_duration(const std::string& text, Duration& out);

}  // namespace pb::config
