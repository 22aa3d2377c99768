// The HTTP front door as App and the API see it, assembled from the
// server/ layer:
//
//   Listener        pollbridge's own listening socket (listener.h)
//   ConnectionLoop  the epoll thread that accepts, runs TLS handshakes, reads
//                   requests and writes responses (connection_loop.h)
//   WorkerPool      server.workers threads that run buffered requests
//                   (worker_pool.h)
//   HttplibBridge   cpp-httplib's parser and router on those buffers
//                   (httplib_bridge.h); handlers are registered on routes()
//   TlsContext      the certificate and TLS settings, swapped on reload
//                   (tls_context.h)
//
// Threads: construct, register routes, bind() and start() on the main
// thread; set_tls() and the accessors from any thread; stop() once, from
// the main thread.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "config/config.h"
#include "hub/transport.h"
#include "server/connection_limits.h"
#include "server/connection_loop.h"
#include "server/park_kind.h"

namespace pb::server {

class LongPollSession;

class HttplibBridge;
class Listener;
class TlsContext;
class WorkerPool;

// Descriptors kept free of connections when server.max_connections is 0
// (automatic): the state store, upstream polls, the log, the reserve.
constexpr std::size_t kReservedFds = 256;

class HttpServer {
 public:
  explicit HttpServer(const config::ServerConfig& cfg);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Where the API registers its handlers (before start()).
  httplib::Server& routes();
  // The query parameter that carries credentials, removed from every
  // request target before routing (HttplibBridge::set_credential_param).
  void set_credential_param(std::function<std::string()> name);
  // From inside a request handler: the values removed from its target.
  static std::vector<std::string> query_credentials();

  // Loads server.tls (if set). False with "file:line:col: ..." problems.
  bool load_tls(std::vector<std::string>& problems);
  // Binds the configured address; returns the bound port. Throws ListenError.
  int bind();
  // Starts the connection loop and the workers (returns at once).
  void start();
  // Stops accepting, lets requests in progress finish for up to `drain`,
  // closes every connection the front door holds (SSE sessions belong to the
  // hub) and joins its threads.
  void stop(std::chrono::milliseconds drain);

  // A new certificate and settings (loaded and checked by the caller) for
  // new connections; open ones keep theirs.
  void set_tls(std::shared_ptr<TlsContext> ctx);
  bool tls_enabled() const { return cfg_.tls.enabled(); }
  std::shared_ptr<TlsContext> tls_context() const;

  LoopStats stats() const;
  const ConnectionLimits& limits() const { return *limits_; }
  // Threads of the front door: the loop and the workers.
  std::size_t thread_count() const;

  // From inside a request handler: takes the connection for the hub.
  static hub::Transport take_connection();
  // From inside a request handler: waits on the connection loop, without a
  // thread, and runs the request again (HttplibBridge::park).
  static bool park(std::function<bool()> ready, std::chrono::steady_clock::time_point until,
                   ParkKind kind = ParkKind::kAdmission);
  static std::optional<std::chrono::steady_clock::time_point> admission_deadline(
      ParkKind kind = ParkKind::kAdmission);
  // From inside a long-poll handler: the loop keeps `session` with the
  // connection and answers the connection's later long-polls of the same
  // shape with it (HttplibBridge::keep_long_poll).
  static void keep_long_poll(std::shared_ptr<LongPollSession> session);

 private:
  config::ServerConfig cfg_;
  std::unique_ptr<HttplibBridge> bridge_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<Listener> listener_;
  std::shared_ptr<ConnectionLimits> limits_;
  std::unique_ptr<ConnectionLoop> loop_;
  mutable Mutex tls_mu_;
  std::shared_ptr<TlsContext> tls_ PB_GUARDED_BY(tls_mu_);
  bool stopped_ = false;
};

// Raises the soft open-file limit to the hard one (a proxy needs one
// descriptor per connection) and returns the resulting soft limit.
std::size_t raise_open_file_limit();

}  // namespace pb::server
