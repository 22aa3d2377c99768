// Reading the `read` script's reply (cluster/lua_scripts.h) into the state
// a stream loads or follows, with the same ids every process computes.
//
// Pure; any thread.
#pragma once

#include <hiredis/hiredis.h>

#include <optional>

#include "stream/store.h"

namespace pb::cluster {

// nullopt when Redis has no state for the instance. Throws RedisError on a
// reply of another shape.
std::optional<stream::PersistedState> parse_state_reply(const redisReply* r);

}  // namespace pb::cluster
