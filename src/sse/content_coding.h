// Content codings of a response (RFC 9110 8.4) and their negotiation from
// Accept-Encoding (RFC 9110 12.5.3). Pure; callable from any thread.
//
// Hand-written rather than taken from a library: Debian's cpp-httplib picks
// a coding by substring ("gzip" anywhere in the field, so `gzip;q=0` would
// still get gzip), and no Debian package offers a q-value parser on its own.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pb::sse {

enum class Coding { kIdentity, kGzip, kDeflate };
inline constexpr int kCodingCount = 3;

// "identity", "gzip", "deflate": the Content-Encoding token.
const char* coding_name(Coding coding);
// A coding by its name, case-insensitive; `x-gzip` is gzip (RFC 9110
// 8.4.1.3). Nothing for an unknown name.
std::optional<Coding> parse_coding(std::string_view name);

// The coding to answer with, of `offered` (the server's preference order,
// e.g. server.compression), given the request's Accept-Encoding:
//  * no field (nullptr): identity — never compress for a client that did not
//    ask (RFC 9110 allows any coding then; pollbridge does not take it);
//  * each listed coding has its q-value (default 1; `x-gzip` is gzip); `*`
//    gives its q-value to every coding not listed; q=0 refuses;
//  * the offered coding with the highest q wins (ties: the earlier offered),
//    unless identity is listed (or given by `*`) with a higher q: a client
//    that names a coding at all gets it;
//  * a malformed element (bad q-value, bad token) is ignored.
// Several Accept-Encoding fields are passed joined with ", ".
Coding negotiate(const std::string* accept_encoding, const std::vector<Coding>& offered);

}  // namespace pb::sse
