// The coordinator of a store owned by one process (memory, SQLite): there
// is nobody to coordinate with. This process may always poll, nobody else
// listens, follows or asks for polls, a shared secret is the one offered,
// and the store is always reachable as far as coordination goes (a failing
// disk is the Store's StoreError).
//
// Threads: any; it holds no state.
#pragma once

#include "stream/coordinator.h"

namespace pb::stream {

class LocalCoordinator : public Coordinator {
 public:
  bool shared() const override { return false; }
  void follow(const std::string& /*key*/, Follower* /*f*/) override {}
  void unfollow(const std::string& /*key*/, Follower* /*f*/) noexcept override {}
  bool may_poll(const std::string& /*key*/) const override { return true; }
  bool listened_elsewhere(const std::string& /*key*/) const override { return false; }
  bool request_poll(const std::string& /*key*/, std::chrono::milliseconds /*wait*/) override {
    return false;  // never asked: may_poll() is always true
  }
  void on_poll_requests(PollRequests /*poll*/) override {}
  std::string shared_secret(const std::string& /*name*/, const std::string& fresh) override {
    return fresh;
  }
  std::string unavailable() const override { return {}; }
  void write_metrics(std::ostream& /*out*/) const override {}
};

}  // namespace pb::stream
