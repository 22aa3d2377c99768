// The complete responses the connection loop writes by itself, without
// routing: a request refused before it reaches a worker (bad framing, a
// limit) and the interim 100 Continue. Same JSON body as every other error
// pollbridge answers ({"error":"<code>","message":"<text>"}), always with
// `Connection: close`: after any of these the connection is closed.
//
// Threads: plain functions.
#pragma once

#include <string>

namespace pb::server {

// `message` must be pollbridge's own text (never request bytes); `code`
// replaces the status's usual error code in the body.
std::string error_response(int status, const std::string& message, const char* code = nullptr);

// HTTP/1.1 100 Continue.
const std::string& continue_response();

}  // namespace pb::server
