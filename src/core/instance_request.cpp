#include "core/instance_request.h"

#include "auth/forwarded_headers.h"

namespace pb::core {

std::string instance_key(const InstanceRequest& req, std::string_view secret) {
  if (!req.per_user) return req.address;
  std::string digest = auth::forwarded_digest(req.forwarded, secret);
  return req.address + std::string(kUserKeySeparator) + digest.substr(0, kUserDigestChars);
}

}  // namespace pb::core
