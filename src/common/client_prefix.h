// Which peer addresses count as one client for the per-address limits
// (server.max_connections_per_ip, server.max_pending_admissions_per_client)
// and the per-client caps (streams[].max_instances_per_client): an IPv4
// address on its own, an IPv6 address by its first server.ipv6_prefix bits.
// One IPv6 client commonly holds a whole /64 and can pick any address in it,
// so keying by the whole /128 would let it rotate past every limit.
//
// Pure functions; callable from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace pb {

// The default of server.ipv6_prefix: one subnet, as delegated to a site.
constexpr unsigned kDefaultIpv6Prefix = 64;

// An address as 16 bytes, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d).
using AddressBytes = std::array<std::uint8_t, 16>;

bool is_ipv4_mapped(const AddressBytes& bytes);

// Clears the bits of an IPv6 address past `ipv6_prefix` (1..128); an
// IPv4(-mapped) address is left whole.
AddressBytes client_prefix(const AddressBytes& bytes, unsigned ipv6_prefix);

// The same for an address in text form: "192.0.2.1" stays "192.0.2.1"
// (also when written "::ffff:192.0.2.1"), "2001:db8::1:2" is "2001:db8::/64"
// (the whole address, without "/128", for a prefix of 128). Text that is no
// IP address is returned unchanged.
std::string client_key(const std::string& ip, unsigned ipv6_prefix);

}  // namespace pb
