// Why the runtime could not give a client an instance, as a kind the HTTP
// layer (server/lookup_status.h) turns into a status: core names the
// failure, server says how it is answered. Nothing here is HTTP.
//
// Plain data; callable from any thread.
#pragma once

#include <string>
#include <utility>

namespace pb::core {

enum class LookupFailure {
  // No stream serves the address, or it has no instance to give this
  // request (a value not made on request, a per-user stream asked for
  // without a client).
  kNotFound,
  kInvalid,          // a stream matches, but the parameter values are refused
  kBusy,             // being made, replaced or reconfigured, or cannot be started now: retry
  kOverLimit,        // the stream's max_instances is reached
  kClientOverLimit,  // this client's share of the stream (max_instances_per_client) is reached
};

struct LookupError {
  LookupError() = default;
  LookupError(LookupFailure kind, std::string message, int retry_after, std::string limit = {},
              std::string stream = {})
      : kind(kind),
        message(std::move(message)),
        retry_after(retry_after),
        limit(std::move(limit)),
        stream(std::move(stream)) {}

  LookupFailure kind = LookupFailure::kNotFound;
  std::string message;  // for the client: what went wrong, naming the address or stream
  int retry_after = 0;  // seconds the client should wait before trying again; 0: no hint
  // With kOverLimit and kClientOverLimit: the configured limit that refused
  // (its config key) and the stream's name; empty otherwise.
  std::string limit;
  std::string stream;
};

// Renders what is written on a connection the runtime took from a handler
// but could not attach (then the connection is closed). The HTTP layer
// supplies it (Runtime::set_refusal): the runtime has no words of its own.
// Called on the thread that called Runtime::attach or attach_mux.
using RefusalRenderer = std::string (*)(const LookupError& error);

}  // namespace pb::core
