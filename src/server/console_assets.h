// The operator's console's files (clients/console/), built into the binary
// by cmake/embed_console.cmake and served under /admin/ with a strict
// Content-Security-Policy (docs/console.md). The files hold no data: what
// the console shows comes from the admin endpoints, with the admin token.
//
// Threads: handlers run on the HTTP workers (pb-http); the files are
// immutable (generated arrays).
#pragma once

#include <httplib.h>

#include <string_view>

namespace pb::server {

// The policy every console file is served with: nothing from elsewhere,
// no inline script or style, no framing, no form posts.
constexpr const char* kConsoleCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Answers a GET or HEAD of /admin/<file> ("" is index.html); false when no
// such file is built in (nothing is written then).
bool serve_console_file(std::string_view file, httplib::Response& res);

}  // namespace pb::server
