// The answer written on a connection the runtime took from a handler but
// could not attach to a stream (the instance went away, the stream was
// reconfigured meanwhile): a complete HTTP/1.1 response that closes the
// connection, `404` or `503` with `Retry-After: 1`, and a JSON body made by
// the JSON writer (its message can hold an address the client chose).
//
// Pure; callable from any thread.
#pragma once

#include <string>

#include "core/runtime.h"

namespace pb::core {

std::string refusal_response(const LookupError& err);

}  // namespace pb::core
