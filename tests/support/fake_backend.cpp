#include "support/fake_backend.h"

#include <functional>

namespace pb::testing {

FakeBackend::FakeBackend() {
  // pollbridge keeps one keep-alive connection per stream; httplib's server
  // holds a thread per connection, so give it enough for many streams.
  server_.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  auto h = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  server_.Get(".*", h);
  server_.Post(".*", h);
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
}

FakeBackend::~FakeBackend() {
  server_.stop();
  if (restarted_) restarted_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string FakeBackend::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void FakeBackend::set_body(const std::string& body, const std::string& path,
                           const std::string& content_type) {
  std::lock_guard<std::mutex> lock(mu_);
  bodies_[path] = {body, content_type};
}

void FakeBackend::set_failure(int status, httplib::Headers headers, std::string body) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_status_ = status;
  fail_headers_ = std::move(headers);
  fail_body_ = std::move(body);
}

void FakeBackend::set_etag(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  etag_ = on;
}

void FakeBackend::set_last_modified(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  last_modified_ = on;
}

void FakeBackend::set_delay(std::chrono::milliseconds d) {
  std::lock_guard<std::mutex> lock(mu_);
  delay_ = d;
}

void FakeBackend::set_handler(std::function<void(const httplib::Request&, httplib::Response&)> h) {
  std::lock_guard<std::mutex> lock(mu_);
  handler_ = std::move(h);
}

std::size_t FakeBackend::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.size();
}

std::size_t FakeBackend::requests_since(std::chrono::steady_clock::time_point t) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t n = 0;
  for (const auto& r : seen_) n += r.at >= t;
  return n;
}

std::vector<SeenRequest> FakeBackend::seen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_;
}

SeenRequest FakeBackend::last() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.empty() ? SeenRequest{} : seen_.back();
}

void FakeBackend::stop() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

void FakeBackend::restart() {
  // httplib::Server cannot listen twice; serve the same port from a new one.
  restarted_ = std::make_unique<httplib::Server>();
  restarted_->new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  auto h = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  restarted_->Get(".*", h);
  restarted_->Post(".*", h);
  restarted_->bind_to_port("127.0.0.1", port_);
  thread_ = std::thread([this] { restarted_->listen_after_bind(); });
}

void FakeBackend::handle(const httplib::Request& req, httplib::Response& res) {
  std::function<void(const httplib::Request&, httplib::Response&)> handler;
  std::chrono::milliseconds delay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::string query;
    for (const auto& [k, v] : req.params) query += (query.empty() ? "" : "&") + k + "=" + v;
    seen_.push_back(
        {req.method, req.path, query, req.headers, req.body, std::chrono::steady_clock::now()});
    handler = handler_;
    delay = delay_;
  }
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  if (handler) {
    handler(req, res);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (fail_status_ != 0) {
    res.status = fail_status_;
    for (const auto& [k, v] : fail_headers_) res.set_header(k, v);
    res.set_content(fail_body_, "text/plain");
    return;
  }
  auto it = bodies_.find(req.path);
  if (it == bodies_.end()) {
    res.status = 404;
    return;
  }
  const auto& [body, type] = it->second;
  if (etag_) {
    std::string tag = "\"" + std::to_string(std::hash<std::string>{}(body)) + "\"";
    res.set_header("ETag", tag);
    if (req.get_header_value("If-None-Match") == tag) {
      res.status = 304;
      return;
    }
  }
  if (last_modified_) {
    const std::string lm = "Sun, 22 Nov 2026 00:00:00 GMT";
    res.set_header("Last-Modified", lm);
    if (req.get_header_value("If-Modified-Since") == lm && !etag_) {
      res.status = 304;
      return;
    }
  }
  res.set_content(body, type.c_str());
}

}  // namespace pb::testing
