// A stand-in for a misconfigured or lying sentinel: a TCP server on a
// loopback port that answers every command (AUTH, SENTINEL
// get-master-addr-by-name, SUBSCRIBE) with the address it is given, as
// Sentinel answers get-master-addr-by-name. Used to check that a wrong
// master (a replica) is refused, and to bring a sentinel up on a port
// pollbridge already retries.
//
// Threads: its own (serves connections); the methods from the test's.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

namespace pb::testing {

class FakeSentinel {
 public:
  // Listens on `port` (0: a free one) and names 127.0.0.1:answer_port.
  explicit FakeSentinel(int answer_port, int port = 0);
  ~FakeSentinel();
  FakeSentinel(const FakeSentinel&) = delete;
  FakeSentinel& operator=(const FakeSentinel&) = delete;

  int port() const { return port_; }
  // Commands answered so far.
  int asked() const { return asked_.load(); }

 private:
  void serve();

  std::string reply_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> asked_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace pb::testing
