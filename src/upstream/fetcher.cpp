#include "upstream/fetcher.h"

#include <httplib.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace pb::upstream {
namespace {

std::string describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "cannot connect";
    case httplib::Error::ConnectionTimeout:
      return "connect timed out";
    case httplib::Error::Read:
      return "read failed or timed out";
    case httplib::Error::Write:
      return "write failed";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLServerVerification:
      return "TLS certificate verification failed";
    case httplib::Error::SSLLoadingCerts:
      return "cannot load CA certificates";
    case httplib::Error::ExceedRedirectCount:
      return "too many redirects";
    case httplib::Error::Compression:
      return "cannot decompress the body";
    default:
      return httplib::to_string(e);
  }
}

}  // namespace

Fetcher::Fetcher(const config::StreamConfig& cfg, const Url& url) : cfg_(cfg), url_(url) {
  open_client();
}

void Fetcher::open_client() {
  socket_fd_.store(-1);
  client_ = std::make_unique<httplib::Client>(url_.origin());
  auto t = std::chrono::duration_cast<std::chrono::microseconds>(cfg_.timeout);
  client_->set_connection_timeout(t.count() / 1000000, t.count() % 1000000);
  client_->set_read_timeout(t.count() / 1000000, t.count() % 1000000);
  client_->set_write_timeout(t.count() / 1000000, t.count() % 1000000);
  client_->set_keep_alive(true);
  client_->set_socket_options([this](socket_t sock) {
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    socket_fd_.store(sock);
  });
  // Redirects are not followed: httplib would treat a 304 as one, and a
  // legacy endpoint that moved is a config error worth surfacing as status.
  client_->set_follow_location(false);
  client_->set_decompress(true);
  if (url_.scheme == "https") {
    client_->enable_server_certificate_verification(cfg_.tls_verify);
    if (!cfg_.ca_file.empty()) client_->set_ca_cert_path(cfg_.ca_file);
  }
}

Fetcher::~Fetcher() = default;

void Fetcher::cancel() {
  // httplib's Client::stop() is not safe against a request in flight on
  // another thread (ThreadSanitizer reports its mutex misuse); shutting the
  // socket down makes the blocked read or write return at once instead.
  // Only used at process shutdown, when a stale descriptor number can at
  // worst hit another socket that is being closed anyway.
  int fd = socket_fd_.load();
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

void Fetcher::forget_validators() {
  etag_.clear();
  last_modified_.clear();
}

FetchResult Fetcher::fetch(SystemClock::time_point now) {
  FetchResult result;
  httplib::Request req;
  req.method = cfg_.method;
  req.path = url_.target;
  for (const auto& [k, v] : cfg_.headers) req.headers.emplace(k, v);
  if (!req.has_header("Accept")) {
    req.headers.emplace(
        "Accept", cfg_.diff == config::DiffMode::kText ? "*/*" : "application/json, */*;q=0.5");
  }
  if (!req.has_header("Accept-Encoding"))
    req.headers.emplace("Accept-Encoding", "br, gzip, deflate");
  if (!req.has_header("User-Agent")) req.headers.emplace("User-Agent", "pollbridge/" PB_VERSION);
  if (!etag_.empty()) req.headers.emplace("If-None-Match", etag_);
  if (!last_modified_.empty()) req.headers.emplace("If-Modified-Since", last_modified_);
  if (cfg_.method == "POST") {
    req.body = cfg_.body;
    if (!req.has_header("Content-Type")) req.headers.emplace("Content-Type", cfg_.content_type);
  }

  bool too_big = false;
  bool not_modified = false;
  std::string body;
  int status = 0;
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    if (status == 304 && !r.has_header("Content-Length") && !r.has_header("Transfer-Encoding")) {
      // A 304 never has a body (RFC 9112 6.3), but httplib 0.11 reads one
      // until the connection closes when there is no Content-Length. Stop
      // here; that connection is dropped and the next poll opens a new one.
      // (With a Content-Length, httplib reads nothing and keeps it alive.)
      not_modified = true;
      return false;
    }
    if (r.has_header("Content-Length") && status >= 200 && status < 300) {
      // Refuse early when the upstream announces a body that cannot fit.
      try {
        if (std::stoull(r.get_header_value("Content-Length")) > cfg_.max_body &&
            !r.has_header("Content-Encoding")) {
          too_big = true;
          return false;
        }
      } catch (const std::exception&) {
      }
    }
    return true;
  };
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    if (body.size() + len > cfg_.max_body) {
      too_big = true;
      return false;
    }
    body.append(data, len);
    return true;
  };

  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  bool ok = client_->send(req, res, err);
  result.status = status ? status : res.status;
  if (not_modified) {
    open_client();  // drops the abandoned connection
    result.kind = FetchResult::Kind::kNotModified;
    return result;
  }
  if (too_big) {
    result.error = "body larger than max_body (" + std::to_string(cfg_.max_body) + " bytes)";
    // The connection was abandoned mid-body; start the next poll afresh.
    open_client();  // drops the abandoned connection
    return result;
  }
  if (!ok) {
    result.status = 0;
    result.error = describe(err);
    return result;
  }
  if (res.status == 304) {
    result.kind = FetchResult::Kind::kNotModified;
    return result;
  }
  if (res.status < 200 || res.status >= 300) {
    result.error = "upstream answered HTTP " + std::to_string(res.status);
    if (res.has_header("Retry-After") && (res.status == 429 || res.status == 503)) {
      result.retry_after = parse_retry_after(res.get_header_value("Retry-After"), now);
    }
    return result;
  }
  etag_ = res.get_header_value("ETag");
  last_modified_ = res.get_header_value("Last-Modified");
  result.kind = FetchResult::Kind::kBody;
  result.body = std::move(body);
  return result;
}

}  // namespace pb::upstream
