// The SSE access log: a line when a client connects (remote address, stream,
// instance, whether it resumed from an id or got a snapshot) and one when it
// goes (the same, with why, how long, events and bytes sent), at info,
// unless log.access is false. A client dropped as slow or stalled is also
// logged at warn whatever log.access says, throttled per stream
// (log::kRepeatPeriod) so that a mass eviction costs a few lines.
//
// Threads: connect lines on the attaching thread (an HTTP worker, after the
// stream lock is released); the end hook runs on the session's hub thread,
// outside its fan-out loop, and writes at most two lines.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hub/session_end.h"

namespace pb::core {

class Instance;

struct AccessInfo {
  std::string client;         // the peer's address, ip:port
  std::string stream;         // stream name(s), comma-separated for a multiplexed connection
  std::string instance;       // address(es) as logs may show them (log::instance_field)
  std::string start;          // "snapshot" (current state) or "resume" (replay from an id)
  std::string last_event_id;  // what the client sent, if anything
};

// The peer address of a connected socket ("ip:port"; "?" if unknown).
std::string peer_address(int fd);

AccessInfo access_info(const std::string& client,
                       const std::vector<std::shared_ptr<Instance>>& insts,
                       const std::optional<std::string>& last_id, bool fresh);

// Writes the connect line (if the access log is on).
void log_connect(const AccessInfo& info);

// The hub's end hook for the session: runs `then` (releasing the client's
// presence), then writes the disconnect line and, for an eviction, the
// throttled warning.
std::function<void(const hub::SessionEnd&)> access_hook(AccessInfo info,
                                                        std::function<void()> then);

}  // namespace pb::core
