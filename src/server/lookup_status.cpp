#include "server/lookup_status.h"

#include "log/refusal.h"

namespace pb::server {

int lookup_status(core::LookupFailure kind) {
  switch (kind) {
    case core::LookupFailure::kNotFound:
      return 404;
    case core::LookupFailure::kInvalid:
      return 400;
    case core::LookupFailure::kBusy:
    case core::LookupFailure::kOverLimit:
      return 503;
    case core::LookupFailure::kClientOverLimit:
      return 429;
  }
  return 500;
}

void log_limit_refusal(const core::LookupError& err) {
  if (err.limit.empty()) return;
  log::refused(err.limit, lookup_status(err.kind), "", err.stream);
}

}  // namespace pb::server
