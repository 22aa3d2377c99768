// A session's standing, shared by the hub session (which holds it for as
// long as it is open) and whoever decides admissions again (on reload;
// server/admissions.h): revoke() marks it, and the session's hub thread
// closes it with reason `revoked` at once when told (Hub::close_revoked)
// and at the latest on its next tick. A future kind of waiting session (a
// long-poll) holds the same object and is judged the same way.
//
// Threads: revoke() from any thread (the reloading one); revoked() from the
// session's hub thread.
#pragma once

#include <atomic>

#include "common/park_signal.h"

namespace pb::hub {

class Revocable {
 public:
  virtual ~Revocable() = default;
  void revoke() {
    revoked_.store(true, std::memory_order_release);
    park_signal();  // a long-poll parked with it is answered (401) at once
  }
  bool revoked() const { return revoked_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> revoked_{false};
};

}  // namespace pb::hub
