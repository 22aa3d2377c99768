// A real redis-server for a test: started on a free loopback port with no
// persistence (a restart is an empty Redis), killed (SIGKILL) on
// destruction. scripts/deps.sh installs redis-server (group "test"); a test
// skips with a clear message only when the binary is missing.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace pb::testing {

class RedisServer {
 public:
  // The binary scripts/deps.sh installs.
  static constexpr const char* kBinary = "/usr/bin/redis-server";
  static bool available();

  // Starts it (fails the test if it does not answer PING within seconds).
  // `extra` is added to its command line (e.g. {"--replicaof", host, port}).
  explicit RedisServer(std::string password = "", std::vector<std::string> extra = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  // redis://[:password@]127.0.0.1:port/0
  std::string url() const;
  pid_t pid() const { return pid_; }

  // kill -9, and wait for it to be gone.
  void kill();
  // Starts it again on the same port, empty.
  void start();
  // What start() adds to the command line from now on.
  void set_extra(std::vector<std::string> extra) { extra_ = std::move(extra); }
  void signal(int sig) const;

  // Runs one command on a fresh connection; returns the reply as text
  // (integers as digits, nil as "(nil)", arrays joined by '\n', errors as
  // "ERR ..."), or "(unreachable)".
  std::string command(const std::vector<std::string>& args) const;
  // The last `lines` lines of its log, for a failed test.
  std::string log_tail(std::size_t lines) const;

 private:
  std::string password_;
  std::vector<std::string> extra_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// The last `lines` lines of a text file ("" when it is missing): the Redis
// and Sentinel logs a failed test prints.
std::string file_tail(const std::string& path, std::size_t lines);

}  // namespace pb::testing
