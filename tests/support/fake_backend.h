// A fake legacy backend for tests: a real cpp-httplib server on port 0 whose
// answers the test controls (body per path, status, headers, ETag support,
// delay), and which records every request it received.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pb::testing {

struct SeenRequest {
  std::string method;
  std::string path;
  std::string query;  // raw query string
  httplib::Headers headers;
  std::string body;
  std::chrono::steady_clock::time_point at;
};

class FakeBackend {
 public:
  static constexpr std::size_t kThreads = 64;

  FakeBackend();
  ~FakeBackend();

  int port() const { return port_; }
  std::string url(const std::string& path = "/doc") const;

  // What GET/POST `path` answers (200). Thread-safe.
  void set_body(const std::string& body, const std::string& path = "/doc",
                const std::string& content_type = "application/json");
  // Answer every request with this status (and headers, body) until cleared
  // with status 0.
  void set_failure(int status, httplib::Headers headers = {}, std::string body = "");
  // When on, 200 answers carry an ETag and a matching If-None-Match gets 304.
  void set_etag(bool on);
  void set_last_modified(bool on);
  void set_delay(std::chrono::milliseconds d);
  // Replaces the handling entirely.
  void set_handler(std::function<void(const httplib::Request&, httplib::Response&)> h);

  std::size_t requests() const;
  std::size_t requests_since(std::chrono::steady_clock::time_point t) const;
  std::vector<SeenRequest> seen() const;
  SeenRequest last() const;

  // Stops listening (connections are refused) / starts again on the same port.
  void stop();
  void restart();

 private:
  void start(int port);
  void handle(const httplib::Request& req, httplib::Response& res);

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>> bodies_;
  int fail_status_ = 0;
  httplib::Headers fail_headers_;
  std::string fail_body_;
  bool etag_ = false;
  bool last_modified_ = false;
  std::chrono::milliseconds delay_{0};
  std::function<void(const httplib::Request&, httplib::Response&)> handler_;
  std::vector<SeenRequest> seen_;
  std::unique_ptr<httplib::Server> restarted_;
};

}  // namespace pb::testing
