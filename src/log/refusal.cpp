#include "log/refusal.h"

#include <string>

#include "log/log.h"
#include "log/throttle.h"

namespace pb::log {

void refused(std::string_view limit, int status, std::string_view client, std::string_view stream) {
  static Throttle throttle(kRepeatPeriod);
  std::string key(limit);
  key += '\n';
  key += stream;
  std::uint64_t suppressed = 0;
  if (!throttle.allow(key, Throttle::Clock::now(), suppressed)) return;
  warn("limit refused", {{"limit", limit},
                         {"status", status},
                         {"client", client},
                         {"stream", stream},
                         {"suppressed", suppressed}});
}

}  // namespace pb::log
