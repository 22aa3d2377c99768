#include "auth/failure_counters.h"

namespace pb::auth {

void FailureCounters::write_prometheus(std::string& out) const {
  out +=
      "# HELP pollbridge_auth_failures_total Requests refused by access control, by reason.\n"
      "# TYPE pollbridge_auth_failures_total counter\n";
  for (std::size_t i = 0; i < kReasonCount; ++i) {
    const auto reason = static_cast<Reason>(i);
    if (reason == Reason::kOk) continue;
    out += "pollbridge_auth_failures_total{reason=\"";
    out += reason_name(reason);
    out += "\"} ";
    out += std::to_string(counts_[i].load(std::memory_order_relaxed));
    out += '\n';
  }
}

}  // namespace pb::auth
