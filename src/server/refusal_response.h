// The answer written on a connection the runtime took from a handler but
// could not attach to a stream (the instance went away, the stream was
// reconfigured meanwhile): a complete HTTP/1.1 response that closes the
// connection, and a JSON body made by the JSON writer (its message can hold
// an address the client chose). The handler had already accepted the
// request, so whatever failed since is answered as transient: not found is
// `404`, every other kind `503` with `Retry-After: 1` (statuses from
// server/lookup_status.h).
//
// Pure; callable from any thread (the runtime calls it on the thread that
// attaches: an HTTP worker).
#pragma once

#include <string>

#include "core/lookup_error.h"

namespace pb::server {

std::string refusal_response(const core::LookupError& err);

}  // namespace pb::server
