// The config's `state` section, opened: the store that keeps every
// instance's state (store.h) and the coordinator that divides the work
// among the processes sharing it (coordinator.h). One object may be both
// (cluster::RedisStore: its fenced append and its lease are one
// mechanism); hence shared ownership.
//
// Threads: made on the main thread at start; both parts are then used
// from any thread, per their own headers.
#pragma once

#include <memory>

#include "stream/coordinator.h"
#include "stream/local_coordinator.h"
#include "stream/store.h"

namespace pb::stream {

struct State {
  std::shared_ptr<Store> store;
  std::shared_ptr<Coordinator> coordinator;
};

// A store owned by this process alone, with the coordinator that goes
// with it.
inline State local_state(std::shared_ptr<Store> store) {
  return {std::move(store), std::make_shared<LocalCoordinator>()};
}

}  // namespace pb::stream
