// Which content coding an answer gets and the one place HTTP answers are
// compressed (docs/protocol.md "Compression"; server.compression).
//
//  * SSE: the handler names the coding in the response head (announce_coding)
//    and the runtime attaches the client to the compressed feed.
//  * Every other answer: compress_response(), the API's post-routing step,
//    compresses a body of kMinCompressed bytes or more whose type is text,
//    JSON, JavaScript or XML, when the client asked (Accept-Encoding with
//    q-values) for a coding server.compression offers. Already-compressed
//    bodies (a Content-Encoding set by the handler, as /pollbridge.js does)
//    and content providers are left alone.
//  * Representations differ by coding: such an answer carries `Vary:
//    Accept-Encoding`, and its ETag names the coding (`"<tag>-gzip"`, RFC
//    9110 8.8.3), so that If-None-Match matches only the representation
//    the client holds. GET /streams/{name} names the negotiated coding in its
//    ETag before deciding on 304 (coded_etag), whatever the body's size.
//
// Threads: the request workers (pb-http), concurrently; pure but for the
// process-wide counters (sse::compression_counters()).
#pragma once

#include <httplib.h>

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "sse/content_coding.h"

namespace pb::server {

// Smaller bodies are sent plain: a gzip frame costs 18 bytes and the CPU is
// not worth it.
constexpr std::size_t kMinCompressed = 1024;

// server.compression as codings, in its order.
std::vector<sse::Coding> offered_codings(const config::ServerConfig& server);
// The coding negotiated for `req` (identity when none is offered or asked).
sse::Coding choose_coding(const httplib::Request& req, const config::ServerConfig& server);

// Adds `token` to the response's Vary field unless it is there already.
void add_vary(httplib::Response& res, std::string_view token);
// An entity tag for the representation in `coding`: `"abc"` → `"abc-gzip"`
// (unchanged for identity; a weak tag stays weak).
std::string coded_etag(const std::string& etag, sse::Coding coding);

// The SSE response head (ending with its blank line, then the retry line):
// names `coding` (Content-Encoding) and, when the server offers any coding,
// adds Accept-Encoding to Vary (merged with a Vary: Origin).
void announce_coding(std::string& head, sse::Coding coding, bool offered);
// The same for the answer to HEAD of an SSE resource.
void announce_coding(httplib::Response& res, sse::Coding coding, bool offered);

// The post-routing step: compresses the answer as described above.
void compress_response(const httplib::Request& req, httplib::Response& res,
                       const config::ServerConfig& server);

// The compression lines of /metrics (docs/operations.md).
void write_compression_metrics(std::ostream& o);

}  // namespace pb::server
