// How many connections pollbridge holds, in every state (TLS handshakes,
// request heads and bodies, idle keep-alive, requests being handled, SSE
// sessions in the hub), and from which addresses: server.max_connections
// (503 past it) and server.max_connections_per_ip (429 past it).
//
// The per-address count is keyed by the TCP peer. X-Forwarded-For is left out
// on purpose: the limit protects descriptors and memory at accept time, before
// any header has arrived, and a header is whatever the client writes unless a
// trusted proxy rewrote it. Behind a load balancer every connection has the
// balancer's address, so leave the per-address limit off there (the default)
// and limit per client at the balancer (docs/tls.md, "Limits").
//
// An IPv6 peer is counted by its first server.ipv6_prefix bits (one client
// holds a whole /64 and can rotate through it); an IPv4 peer by its address
// (common/client_prefix.h).
//
// Threads: acquire() on the connection loop thread; release() (directly or
// through a token) from any thread: the loop's, or whichever closes the
// connection that carries the token (a hub thread; an HTTP worker whose
// hand-over to the hub failed).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/client_prefix.h"
#include "common/mutex.h"

namespace pb::server {

// A peer address as a fixed-size key: IPv4 as IPv4-mapped IPv6.
struct PeerAddress {
  std::array<std::uint8_t, 16> bytes{};
  std::uint16_t port = 0;

  static PeerAddress from(const sockaddr_storage& addr);
  std::string ip() const;  // text, IPv4 in dotted form
  bool operator==(const PeerAddress& o) const { return bytes == o.bytes; }
};

// A hash of 16 address bytes, for maps keyed by client.
struct AddressHash {
  std::size_t operator()(const AddressBytes& b) const;
};

class ConnectionLimits : public std::enable_shared_from_this<ConnectionLimits> {
 public:
  enum Verdict { kOk, kTooMany, kTooManyFromAddress };

  // `max_total` 0 or `max_per_ip` 0: that limit is off.
  ConnectionLimits(std::size_t max_total, std::size_t max_per_ip,
                   unsigned ipv6_prefix = kDefaultIpv6Prefix);

  // Counts a new connection, or says which limit it is over (then nothing is
  // counted).
  Verdict acquire(const PeerAddress& peer);
  void release(const PeerAddress& peer);
  // Releases `peer` when the last copy is dropped: carried by a connection
  // that leaves the loop for the hub (it keeps this object alive). The
  // object must be owned by a shared_ptr.
  std::shared_ptr<void> token(const PeerAddress& peer);

  std::int64_t open() const { return open_.load(std::memory_order_relaxed); }
  std::size_t max_total() const { return max_total_; }
  std::size_t max_per_ip() const { return max_per_ip_; }

 private:
  const std::size_t max_total_;
  const std::size_t max_per_ip_;
  const unsigned ipv6_prefix_;
  std::atomic<std::int64_t> open_{0};
  Mutex mu_;  // only taken with a per-address limit
  std::unordered_map<AddressBytes, std::uint32_t, AddressHash> per_ip_
      PB_GUARDED_BY(mu_);  // by client prefix
};

}  // namespace pb::server
