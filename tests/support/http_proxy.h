// A small forward HTTP proxy for tests, on raw sockets: absolute-form
// requests ("GET http://host:port/path HTTP/1.1") are forwarded to their
// origin one per connection, CONNECT opens a tunnel (for https upstreams).
// It records what it was asked for, so a test can tell that a request went
// through it. Each connection gets a thread.
//
// Threads: counters from any thread.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace pb::testing {

class HttpProxy {
 public:
  HttpProxy();
  ~HttpProxy();
  HttpProxy(const HttpProxy&) = delete;
  HttpProxy& operator=(const HttpProxy&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Request lines seen ("GET http://127.0.0.1:8/doc", "CONNECT 127.0.0.1:9").
  std::vector<std::string> seen() const;

 private:
  void accept_loop();
  void serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::thread acceptor_;
  mutable std::mutex mu_;
  bool stopping_ = false;
  std::vector<std::string> seen_;
  std::set<int> fds_;
  std::vector<std::thread> workers_;
};

}  // namespace pb::testing
