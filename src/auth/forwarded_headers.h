// The request headers a stream forwards upstream (streams[].forward_headers):
// what a per-user instance is polled with and keyed by. pollbridge's own
// token cookie (auth.cookie) is taken out of a forwarded Cookie field; a
// forwarded Authorization field goes as it is (forwarding it is the
// stream's explicit choice).
//
// Pure; callable from any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/credential_source.h"
#include "config/config.h"

namespace pb::auth {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// For each name in `stream.auth.forward_headers` that the request carries
// with a non-empty value: the name as configured and the value (several
// fields of one name joined by ", ", Cookie fields by "; "), in config order.
HeaderList forwarded_values(const RequestView& request, const config::StreamConfig& stream,
                            std::string_view token_cookie);

// A digest that identifies a set of forwarded values, for keying per-user
// instances: HMAC-SHA-256 under `key` of an unambiguous encoding (each name
// and value length-prefixed), hex. With a per-process random key the digest
// says nothing about the values to anyone who sees it (logs, state keys)
// and cannot be brute-forced offline; equal values give equal digests
// within the process.
std::string forwarded_digest(const HeaderList& values, std::string_view key);

}  // namespace pb::auth
