// What pollbridge checks about its upstream side when it starts (and when a
// reload brings new streams): streams that skip TLS verification are named
// in a warning every time, proxies taken from the environment are logged,
// and the file-descriptor limit is compared with what the config may need.
//
// Threads: any; called by App at start and after a reload (the reloading
// thread).
#pragma once

#include <cstddef>

#include "config/config.h"

namespace pb::upstream {

struct DescriptorNeed {
  std::size_t upstream = 0;  // connections to upstreams at most (host slots)
  std::size_t clients = 0;   // server.max_clients
  std::size_t spare = 0;     // everything else (kDescriptorHeadroom + workers)
  std::size_t total() const { return upstream + clients + spare; }
};

// Upstream connections are bounded per origin by the smallest
// max_connections_per_host of its streams, and by the number of instances
// that can poll it (max_instances for a parameterized stream).
DescriptorNeed descriptors_needed(const config::Config& cfg);

// Raises the soft RLIMIT_NOFILE toward the hard limit to cover the need,
// logs what it did, and warns clearly when even the hard limit is short.
// Returns the soft limit in force afterwards.
std::size_t ensure_descriptor_limit(const config::Config& cfg);

// Warns about each stream with tls_verify: false; logs proxies in use.
void log_upstream_settings(const config::Config& cfg);

// Descriptors beyond clients and upstream connections: the listening
// socket, epoll and event fds, the state store, the log, API requests being
// served, libcurl's resolver socket pairs.
constexpr std::size_t kDescriptorHeadroom = 128;

}  // namespace pb::upstream
