// GET /pollbridge.js: the browser client (clients/js/pollbridge.js), built
// into the binary by cmake/embed_client_script.cmake, so that no static_dir
// is needed to serve it.
//
//   /pollbridge.js?v=<version>  Cache-Control: public, max-age=31536000, immutable
//   /pollbridge.js              Cache-Control: no-cache (revalidated by ETag)
//   /pollbridge.js?v=<other>    no-cache as well: an old page after an upgrade
//                               gets today's client, never pinned for a year
//
// Strong ETags: the first 128 bits of the SHA-256 of the bytes sent, one per
// representation (identity, gzip); If-None-Match gets 304. The gzip copy is
// made once; httplib's own per-response compression is bypassed (it would
// compress on every request and send the identity ETag with gzip bytes).
//
// Threads: handlers run on the HTTP workers (pb-http); the script and its gzip
// copy are immutable after their first use (a function-local static).
#pragma once

#include <httplib.h>

#include <functional>
#include <string>
#include <string_view>

namespace pb::server {

// Where the client is served.
constexpr const char* kClientScriptPath = "/pollbridge.js";
// Lifetime of the versioned URL: one year, the longest RFC 9111 4.2.1 advises.
constexpr int kClientScriptMaxAgeSeconds = 31536000;

// One representation of the client.
struct ScriptRepresentation {
  std::string_view bytes;
  std::string etag;  // quoted, strong
};

struct ClientScript {
  std::string version;
  ScriptRepresentation identity;
  ScriptRepresentation gzip;  // empty bytes when zlib failed (identity is sent)
};

// The client as built into this binary.
const ClientScript& client_script();

// Answers a GET or HEAD of kClientScriptPath; the gzip copy only when
// `gzip_offered` (server.compression lists gzip) and the client accepts it.
void serve_client_script(const httplib::Request& req, httplib::Response& res,
                         bool gzip_offered = true);

// Routes GET (and HEAD) kClientScriptPath to serve_client_script, asking
// `gzip_offered` (when set) per request.
void register_client_script(httplib::Server& server, std::function<bool()> gzip_offered = nullptr);

// RFC 9110 12.5.3: whether `accept_encoding` gets the gzip copy, by the
// same rules as every other route (sse::negotiate with gzip offered: q > 0
// for gzip, x-gzip or *, unless identity is preferred).
bool accepts_gzip(const std::string& accept_encoding);

}  // namespace pb::server
