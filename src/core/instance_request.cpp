#include "core/instance_request.h"

#include "auth/forwarded_headers.h"
#include "common/client_prefix.h"

namespace pb::core {

std::string address_owner(const std::string& ip, unsigned ipv6_prefix) {
  return kAddressOwnerPrefix + client_key(ip, ipv6_prefix);
}

std::string instance_key(const InstanceRequest& req, std::string_view secret) {
  if (!req.per_user) return req.address;
  std::string digest = auth::forwarded_digest(req.forwarded, secret);
  return req.address + std::string(kUserKeySeparator) + digest.substr(0, kUserDigestChars);
}

}  // namespace pb::core
