#include "hub/session_end.h"

namespace pb::hub {

const char* end_reason_name(EndReason r) {
  switch (r) {
    case EndReason::kClosed:
      return "closed";
    case EndReason::kSlow:
      return "slow";
    case EndReason::kStall:
      return "stall";
    case EndReason::kRetired:
      return "retired";
    case EndReason::kExpired:
      return "expired";
    case EndReason::kRevoked:
      return "revoked";
    case EndReason::kShutdown:
      return "shutdown";
  }
  return "?";
}

}  // namespace pb::hub
