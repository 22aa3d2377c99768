// The Redis keys of one stream instance (docs/cluster.md lists them). The
// address is wrapped in braces, a Redis Cluster hash tag, so that all keys
// of an instance live on one node and one script can touch them.
//
// Pure; any thread.
#pragma once

#include <string>

namespace pb::cluster {

struct InstanceKeys {
  InstanceKeys(const std::string& prefix, const std::string& address)
      : meta(prefix + "{" + address + "}:meta"),
        events(prefix + "{" + address + "}:events"),
        lease(prefix + "{" + address + "}:lease"),
        presence(prefix + "{" + address + "}:presence"),
        channel(prefix + "{" + address + "}:published") {}
  std::string meta;      // hash: epoch, seq, doc, doc_seq, doc_changed_ms, fetched_ms, fence
  std::string events;    // stream: entry "<seq>-0" with fields t (type), d (data)
  std::string lease;     // string: the holder's token, expiring after state.lease
  std::string presence;  // sorted set: process id -> until (unix ms) it has clients
  std::string channel;   // pub/sub: the id of each appended batch's last event
};

}  // namespace pb::cluster
