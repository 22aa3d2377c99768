// The policy in force, swapped as a whole on reload: a request works with
// the policy it got at its start (a shared_ptr), so a reload never shows
// half of the old keys and half of the new. A reload whose keys do not build
// throws before anything is swapped (Policy::from_config), so the running
// policy stays.
//
// Threads: get() from any thread (HTTP workers); set() from the reloading
// thread (main, on SIGHUP).
#pragma once

#include <memory>

#include "auth/policy.h"
#include "common/mutex.h"

namespace pb::auth {

class PolicyHolder {
 public:
  explicit PolicyHolder(std::shared_ptr<const Policy> policy = std::make_shared<const Policy>())
      : policy_(std::move(policy)) {}

  std::shared_ptr<const Policy> get() const {
    MutexLock lock(mu_);
    return policy_;
  }
  void set(std::shared_ptr<const Policy> policy) {
    MutexLock lock(mu_);
    policy_.swap(policy);
    // The previous policy (now in `policy`) is released after the lock.
  }

 private:
  mutable Mutex mu_;
  std::shared_ptr<const Policy> policy_ PB_GUARDED_BY(mu_);
};

}  // namespace pb::auth
