// What a client asks the runtime for: the address it named and, for a
// per-user stream (streams[].forward_headers), its own values of the
// forwarded headers. The registry (and store) key of the instance is derived
// from both: the address alone for a shared instance, the address plus a
// keyed digest of the values for a per-user one (docs/security.md), so that
// clients with identical values share one poll and one history and
// different values never share anything.
//
// Pure; callable from any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pb::core {

struct InstanceRequest {
  std::string address;  // "orders", "customer/42"
  // Make a parameterized or per-user instance when none is live.
  bool create = false;
  // The stream forwards request headers: the instance is this client's own
  // (keyed by the digest of `forwarded`, even when it is empty).
  bool per_user = false;
  std::vector<std::pair<std::string, std::string>> forwarded;  // name, value
  // Who counts against the stream's max_instances_per_client when this
  // request makes an instance ("sub:alice", "ip:192.0.2.1"); "" for nobody.
  std::string owner;
};

// Owner prefixes: a token's subject, or (without one) the client's address.
constexpr const char* kSubjectOwnerPrefix = "sub:";
constexpr const char* kAddressOwnerPrefix = "ip:";

// The owner of an anonymous client: its address, an IPv6 address by its
// first `ipv6_prefix` bits (server.ipv6_prefix, common/client_prefix.h), so
// that one client cannot rotate through its /64 past the per-client caps.
std::string address_owner(const std::string& ip, unsigned ipv6_prefix);

// Separates an address from the digest in a per-user instance's key; never
// part of an address (addresses are path segments, which cannot hold it).
constexpr std::string_view kUserKeySeparator = "@";
// Hex digits of the digest kept in the key (128 bits).
constexpr std::size_t kUserDigestChars = 32;

// The registry key of the instance `req` names, under the per-process (or
// state directory) digest key `secret`.
std::string instance_key(const InstanceRequest& req, std::string_view secret);

}  // namespace pb::core
