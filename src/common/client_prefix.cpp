#include "common/client_prefix.h"

#include <arpa/inet.h>

#include <cstring>

namespace pb {

bool is_ipv4_mapped(const AddressBytes& bytes) {
  static const std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(bytes.data(), kMapped, sizeof kMapped) == 0;
}

AddressBytes client_prefix(const AddressBytes& bytes, unsigned ipv6_prefix) {
  if (is_ipv4_mapped(bytes) || ipv6_prefix >= 128) return bytes;
  AddressBytes out = bytes;
  const unsigned whole = ipv6_prefix / 8;  // bytes kept entirely
  const unsigned bits = ipv6_prefix % 8;   // bits kept of the next one
  if (whole < out.size()) {
    out[whole] &= static_cast<std::uint8_t>(0xff00u >> bits);
    for (std::size_t i = whole + 1; i < out.size(); ++i) out[i] = 0;
  }
  return out;
}

std::string client_key(const std::string& ip, unsigned ipv6_prefix) {
  AddressBytes b{};
  in_addr v4{};
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) return ip;
  if (inet_pton(AF_INET6, ip.c_str(), b.data()) != 1) return ip;
  char buf[INET6_ADDRSTRLEN] = {0};
  if (is_ipv4_mapped(b)) {
    inet_ntop(AF_INET, &b[12], buf, sizeof buf);
    return buf;
  }
  AddressBytes masked = client_prefix(b, ipv6_prefix);
  inet_ntop(AF_INET6, masked.data(), buf, sizeof buf);
  std::string out = buf;
  if (ipv6_prefix < 128) out += "/" + std::to_string(ipv6_prefix);
  return out;
}

}  // namespace pb
