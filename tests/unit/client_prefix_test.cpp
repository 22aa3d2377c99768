// Which addresses count as one client (common/client_prefix.h): IPv6 by
// server.ipv6_prefix, IPv4 whole; and the two places that use it, the
// per-address connection limit and the anonymous owner of per-client caps.
#include <arpa/inet.h>

#include <gtest/gtest.h>

#include <string>

#include "common/client_prefix.h"
#include "core/instance_request.h"
#include "server/connection_limits.h"
#include "support/file_local.h"

namespace pb {
namespace PB_FILE_LOCAL {

AddressBytes v6(const char* text) {
  AddressBytes b{};
  EXPECT_EQ(inet_pton(AF_INET6, text, b.data()), 1) << text;
  return b;
}

server::PeerAddress peer(const char* text) {
  server::PeerAddress p;
  if (std::string(text).find(':') == std::string::npos) {
    p.bytes = v6(("::ffff:" + std::string(text)).c_str());
  } else {
    p.bytes = v6(text);
  }
  return p;
}

TEST(ClientPrefixTest, AddressesInOneSlash64AreOneClientByDefault) {
  // Several /128s of one /64: one key.
  const char* same[] = {"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff",
                        "2001:db8:1:2:8000::"};
  for (const char* a : same) {
    EXPECT_EQ(client_prefix(v6(a), kDefaultIpv6Prefix), v6("2001:db8:1:2::")) << a;
    EXPECT_EQ(client_key(a, kDefaultIpv6Prefix), "2001:db8:1:2::/64") << a;
  }
  // The next /64 is another client.
  EXPECT_EQ(client_key("2001:db8:1:3::1", 64), "2001:db8:1:3::/64");
}

TEST(ClientPrefixTest, PrefixLengthsAtByteAndBitBoundaries) {
  EXPECT_EQ(client_key("2001:db8:abcd:ef12::1", 48), "2001:db8:abcd::/48");
  EXPECT_EQ(client_key("2001:db8:abcd:ef12::1", 56), "2001:db8:abcd:ef00::/56");
  EXPECT_EQ(client_key("2001:db8:abcd:ef12::1", 60), "2001:db8:abcd:ef10::/60");
  EXPECT_EQ(client_key("2001:db8:abcd:ef12::1", 1), "::/1");
  EXPECT_EQ(client_key("8001:db8::1", 1), "8000::/1");
  // 128: the whole address, written without a prefix length.
  EXPECT_EQ(client_key("2001:db8::1", 128), "2001:db8::1");
  EXPECT_NE(client_prefix(v6("2001:db8::1"), 128), client_prefix(v6("2001:db8::2"), 128));
}

TEST(ClientPrefixTest, Ipv4StaysPerAddressWhateverThePrefix) {
  EXPECT_EQ(client_key("192.0.2.1", 1), "192.0.2.1");
  EXPECT_EQ(client_key("::ffff:192.0.2.1", 64), "192.0.2.1");
  EXPECT_NE(client_prefix(peer("192.0.2.1").bytes, 1), client_prefix(peer("192.0.2.2").bytes, 1));
  // Not an address: unchanged.
  EXPECT_EQ(client_key("", 64), "");
  EXPECT_EQ(client_key("not-an-ip", 64), "not-an-ip");
}

TEST(ClientPrefixTest, AnonymousOwnersArePerPrefix) {
  EXPECT_EQ(core::address_owner("2001:db8:1:2::1", 64), core::address_owner("2001:db8:1:2::9", 64));
  EXPECT_EQ(core::address_owner("2001:db8:1:2::1", 64), "ip:2001:db8:1:2::/64");
  EXPECT_NE(core::address_owner("2001:db8:1:2::1", 128),
            core::address_owner("2001:db8:1:2::9", 128));
  EXPECT_EQ(core::address_owner("192.0.2.7", 64), "ip:192.0.2.7");
}

TEST(ClientPrefixTest, PerAddressConnectionLimitCountsAWholeSlash64) {
  server::ConnectionLimits limits(0, 2, 64);
  EXPECT_EQ(limits.acquire(peer("2001:db8:1:2::1")), server::ConnectionLimits::kOk);
  EXPECT_EQ(limits.acquire(peer("2001:db8:1:2::2")), server::ConnectionLimits::kOk);
  // A third address of the same /64 is the same client.
  EXPECT_EQ(limits.acquire(peer("2001:db8:1:2::3")), server::ConnectionLimits::kTooManyFromAddress);
  EXPECT_EQ(limits.acquire(peer("2001:db8:1:3::1")), server::ConnectionLimits::kOk);
  // Released through another address of the prefix: the slot is the prefix's.
  limits.release(peer("2001:db8:1:2::1"));
  EXPECT_EQ(limits.acquire(peer("2001:db8:1:2::4")), server::ConnectionLimits::kOk);
  // IPv4: per address.
  EXPECT_EQ(limits.acquire(peer("192.0.2.1")), server::ConnectionLimits::kOk);
  EXPECT_EQ(limits.acquire(peer("192.0.2.1")), server::ConnectionLimits::kOk);
  EXPECT_EQ(limits.acquire(peer("192.0.2.2")), server::ConnectionLimits::kOk);
  EXPECT_EQ(limits.acquire(peer("192.0.2.1")), server::ConnectionLimits::kTooManyFromAddress);

  // With 128, every address is its own client.
  server::ConnectionLimits whole(0, 1, 128);
  EXPECT_EQ(whole.acquire(peer("2001:db8:1:2::1")), server::ConnectionLimits::kOk);
  EXPECT_EQ(whole.acquire(peer("2001:db8:1:2::2")), server::ConnectionLimits::kOk);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb
