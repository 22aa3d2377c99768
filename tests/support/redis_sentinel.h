// A real Redis Sentinel for a test: `redis-server <conf> --sentinel` (only
// the redis-server binary is needed; Debian's redis-sentinel package adds
// nothing but a unit file) on a free loopback port, monitoring one master
// under a name with short timings, so that a failover takes two or three
// seconds. Killed (SIGKILL) on destruction.
//
// Threads: the test's.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace pb::testing {

class RedisSentinel {
 public:
  struct Timing {
    // A sentinel pings every min(down_after, 1 s) and, once it switched to
    // a new master, counts that master's silence from the switch: at 600 ms
    // the first ping and the down check fell in the same 100 ms tick, and
    // on a loaded machine every new master went down on its own, failing
    // over back and forth (seen in CI). 1.5 s leaves half a second.
    int down_after_ms = 1500;
    int failover_timeout_ms = 2000;
  };
  // Monitors 127.0.0.1:master_port as `name` with `quorum`.
  RedisSentinel(const std::string& name, int master_port, int quorum, Timing timing);
  RedisSentinel(const std::string& name, int master_port, int quorum)
      : RedisSentinel(name, master_port, quorum, Timing{}) {}
  ~RedisSentinel();
  RedisSentinel(const RedisSentinel&) = delete;
  RedisSentinel& operator=(const RedisSentinel&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  void kill();
  void start();
  // The master this sentinel names now ("127.0.0.1:port"), "" if none.
  std::string master() const;
  // Runs one command on a fresh connection (as RedisServer::command).
  std::string command(const std::vector<std::string>& args) const;
  // The last `lines` lines of this sentinel's log (its view of failovers:
  // +sdown, +odown, +elected-leader, +switch-master), for a failed test.
  std::string log_tail(std::size_t lines) const;

 private:
  std::string name_;
  std::string dir_;
  int master_port_;
  int quorum_;
  Timing timing_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A free TCP port on 127.0.0.1 (bound and released: another process may
// take it meanwhile, which tests accept).
int free_loopback_port();

}  // namespace pb::testing
