#include "server/connection_limits.h"

#include <arpa/inet.h>

#include <cstring>

namespace pb::server {

PeerAddress PeerAddress::from(const sockaddr_storage& addr) {
  PeerAddress p;
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    p.bytes[10] = 0xff;
    p.bytes[11] = 0xff;
    std::memcpy(&p.bytes[12], &a->sin_addr, 4);
    p.port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    std::memcpy(p.bytes.data(), &a->sin6_addr, 16);
    p.port = ntohs(a->sin6_port);
  }
  return p;
}

std::string PeerAddress::ip() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  static const std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(bytes.data(), kMapped, 12) == 0) {
    inet_ntop(AF_INET, &bytes[12], buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

std::size_t AddressHash::operator()(const AddressBytes& b) const {
  // FNV-1a over the 16 bytes.
  std::uint64_t h = 1469598103934665603ull;
  for (std::uint8_t c : b) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<std::size_t>(h);
}

ConnectionLimits::ConnectionLimits(std::size_t max_total, std::size_t max_per_ip,
                                   unsigned ipv6_prefix)
    : max_total_(max_total), max_per_ip_(max_per_ip), ipv6_prefix_(ipv6_prefix) {}

ConnectionLimits::Verdict ConnectionLimits::acquire(const PeerAddress& peer) {
  if (max_total_ > 0 &&
      open_.load(std::memory_order_relaxed) >= static_cast<std::int64_t>(max_total_)) {
    return kTooMany;
  }
  if (max_per_ip_ > 0) {
    MutexLock lock(mu_);
    const AddressBytes key = client_prefix(peer.bytes, ipv6_prefix_);
    std::uint32_t& n = per_ip_[key];
    if (n >= max_per_ip_) {
      if (n == 0) per_ip_.erase(key);
      return kTooManyFromAddress;
    }
    ++n;
  }
  open_.fetch_add(1, std::memory_order_relaxed);
  return kOk;
}

void ConnectionLimits::release(const PeerAddress& peer) {
  open_.fetch_sub(1, std::memory_order_relaxed);
  if (max_per_ip_ > 0) {
    MutexLock lock(mu_);
    auto it = per_ip_.find(client_prefix(peer.bytes, ipv6_prefix_));
    if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
  }
}

std::shared_ptr<void> ConnectionLimits::token(const PeerAddress& peer) {
  // The count itself is the payload; the deleter gives it back.
  return std::shared_ptr<void>(nullptr,
                               [self = shared_from_this(), peer](void*) { self->release(peer); });
}

}  // namespace pb::server
