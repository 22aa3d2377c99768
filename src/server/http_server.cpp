#include "server/http_server.h"

#include <sys/resource.h>

#include <algorithm>

#include "server/httplib_bridge.h"
#include "server/listener.h"
#include "server/tls_context.h"
#include "server/worker_pool.h"

namespace pb::server {
namespace {

std::chrono::seconds whole_seconds(config::Duration d) {
  return std::chrono::ceil<std::chrono::seconds>(d);  // announced in whole seconds
}

}  // namespace

std::size_t raise_open_file_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return rl.rlim_cur == RLIM_INFINITY ? static_cast<std::size_t>(1) << 20
                                      : static_cast<std::size_t>(rl.rlim_cur);
}

HttpServer::HttpServer(const config::ServerConfig& cfg) : cfg_(cfg) {
  bridge_ = std::make_unique<HttplibBridge>(whole_seconds(cfg.keepalive_timeout),
                                            cfg.keepalive_requests, cfg.max_request_body);
  pool_ = std::make_unique<WorkerPool>(cfg.workers);
  std::size_t max_total = cfg.max_connections;
  if (max_total == 0) {
    std::size_t fds = raise_open_file_limit();
    max_total = fds > 2 * kReservedFds ? fds - kReservedFds : fds / 2;
  }
  limits_ =
      std::make_shared<ConnectionLimits>(max_total, cfg.max_connections_per_ip, cfg.ipv6_prefix);
}

HttpServer::~HttpServer() {
  stop(std::chrono::milliseconds(0));
}

httplib::Server& HttpServer::routes() {
  return *bridge_;
}

bool HttpServer::load_tls(std::vector<std::string>& problems) {
  if (!cfg_.tls.enabled()) return true;
  auto ctx = TlsContext::load(cfg_.tls, problems);
  if (!ctx) return false;
  MutexLock lock(tls_mu_);
  tls_ = std::move(ctx);
  return true;
}

int HttpServer::bind() {
  listener_ = std::make_unique<Listener>(cfg_.host, cfg_.port, cfg_.backlog, cfg_.reuse_port);
  return listener_->port();
}

void HttpServer::start() {
  LoopOptions o;
  o.header_timeout = cfg_.header_timeout;
  o.body_timeout = cfg_.body_timeout;
  o.keepalive_timeout = cfg_.keepalive_timeout;
  o.max_header_bytes = cfg_.max_header_bytes;
  o.max_request_body = cfg_.max_request_body;
  o.keepalive_requests = cfg_.keepalive_requests;
  o.max_pending_admissions_per_client = cfg_.max_pending_admissions_per_client;
  o.ipv6_prefix = cfg_.ipv6_prefix;
  o.local_ip = cfg_.host;
  o.local_port = listener_->port();
  ConnectionLoop::TlsSource source;
  if (cfg_.tls.enabled()) source = [this] { return tls_context(); };
  loop_ = std::make_unique<ConnectionLoop>(o, *listener_, limits_, *pool_, *bridge_, source);
  pool_->start();
  loop_->start();
}

void HttpServer::stop(std::chrono::milliseconds drain) {
  if (stopped_) return;
  stopped_ = true;
  if (loop_) loop_->stop(drain);
  // The workers finish what they hold; their completions wait in the
  // (stopped) loop, which closes those connections when it is destroyed.
  pool_->stop();
  loop_.reset();
  if (listener_) listener_->close();
}

void HttpServer::set_tls(std::shared_ptr<TlsContext> ctx) {
  MutexLock lock(tls_mu_);
  tls_ = std::move(ctx);
}

std::shared_ptr<TlsContext> HttpServer::tls_context() const {
  MutexLock lock(tls_mu_);
  return tls_;
}

LoopStats HttpServer::stats() const {
  return loop_ ? loop_->stats() : LoopStats{};
}

std::size_t HttpServer::thread_count() const {
  return pool_->thread_count() + (loop_ ? 1 : 0);
}

void HttpServer::set_credential_param(std::function<std::string()> name) {
  bridge_->set_credential_param(std::move(name));
}

std::vector<std::string> HttpServer::query_credentials() {
  return HttplibBridge::query_credentials();
}

hub::Transport HttpServer::take_connection() {
  return HttplibBridge::take_connection();
}

bool HttpServer::park(std::function<bool()> ready, std::chrono::steady_clock::time_point until,
                      ParkKind kind) {
  return HttplibBridge::park(std::move(ready), until, kind);
}

std::optional<std::chrono::steady_clock::time_point> HttpServer::admission_deadline(ParkKind kind) {
  return HttplibBridge::admission_deadline(kind);
}

void HttpServer::keep_long_poll(std::shared_ptr<LongPollSession> session) {
  HttplibBridge::keep_long_poll(std::move(session));
}

}  // namespace pb::server
