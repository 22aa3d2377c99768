// How the HTTP layer answers a failed instance lookup (core::LookupError):
// the one place a core::LookupFailure becomes a status, used by every route
// that looks an instance up (server/api.h: lookup_error) and by the answer
// on a connection the runtime could not attach (server/refusal_response.h).
//
//   kNotFound        404
//   kInvalid         400
//   kBusy            503  (Retry-After: the error's retry_after)
//   kOverLimit       503  (Retry-After: the error's retry_after)
//   kClientOverLimit 429  (Retry-After: the error's retry_after)
//
// Threads: any.
#pragma once

#include "core/lookup_error.h"

namespace pb::server {

int lookup_status(core::LookupFailure kind);

// One "limit refused" line (log::refused, throttled) when the lookup was
// refused at a configured limit, with the status lookup_status() gives it;
// nothing for other failures.
void log_limit_refusal(const core::LookupError& err);

}  // namespace pb::server
