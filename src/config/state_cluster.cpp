// The state section's cluster keys: state.redis, state.sentinel_password,
// state.lease, state.prefix (docs/configuration.md, docs/cluster.md).
#include "config/loader_impl.h"
#include "config/redis_url.h"

namespace pb::config {

void Loader::read_cluster_state(const Fields& fields, StateConfig& state) {
  if (const Field* x = fields.find("redis")) {
    std::string text;
    if (read_string(*x, text)) {
      config::RedisUrl url;
      std::string why;
      if (!config::parse_redis_url(text, url, why)) {
        // The URL itself is not repeated: it may hold the password.
        problem(*x, why);
      } else {
        state.redis = std::move(text);
      }
    }
  }
  if (const Field* x = fields.find("sentinel_password")) {
    std::string text;
    if (read_string(*x, text)) {
      if (!state.redis.empty() && state.redis.rfind("redis+sentinel://", 0) != 0) {
        problem(*x, "needs state.redis to be a redis+sentinel:// URL");
      } else if (has_control_char(text, false)) {
        problem(*x, "must not contain control characters");
      } else {
        state.sentinel_password = std::move(text);
      }
    }
  }
  if (const Field* x = fields.find("lease")) {
    read_duration(*x, limits::kMinLease, limits::kMaxLease, state.lease);
  }
  if (const Field* x = fields.find("prefix")) {
    std::string prefix;
    if (read_string(*x, prefix)) {
      if (has_control_char(prefix, false) || prefix.find(' ') != std::string::npos) {
        problem(*x, "must not contain spaces or control characters");
      } else if (prefix.size() > limits::kMaxPrefixBytes) {
        problem(*x, "is longer than " + std::to_string(limits::kMaxPrefixBytes) + " bytes");
      } else {
        state.prefix = std::move(prefix);
      }
    }
  }
}

}  // namespace pb::config
