// The policy in force, swapped as a whole on reload: a request works with
// the policy it got at its start (a shared_ptr), so a reload never shows
// half of the old keys and half of the new. A reload whose keys do not build
// throws before anything is swapped (Policy::from_config), so the running
// policy stays.
//
// Threads: get() from any thread (HTTP workers); set() from the reloading
// thread (App::reload: SIGHUP or POST /admin/reload). A Current<Policy>
// (common/current.h) with an empty policy by default.
#pragma once

#include <memory>
#include <utility>

#include "auth/policy.h"
#include "common/current.h"

namespace pb::auth {

class PolicyHolder : public Current<Policy> {
 public:
  explicit PolicyHolder(std::shared_ptr<const Policy> policy = std::make_shared<const Policy>())
      : Current<Policy>(std::move(policy)) {}
};

}  // namespace pb::auth
