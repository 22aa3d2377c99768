// server.static_dir: files served under "/" beside the API, for the pages
// that use pollbridge (the example's index.html, a bundle). Not a general
// web server, but one that is safe to point at a directory:
//
//  * a path is served only if its real path (symlinks resolved) is inside
//    the real path of the directory: a symlink that points outside is not
//    followed (404), and neither is `..`;
//  * a NUL byte in the path, raw or percent-encoded, is a 400 (a C string
//    would end there: "index.html%00.txt" must not serve index.html);
//  * only regular files, up to kMaxStaticFileBytes;
//  * ETag (size and modification time) and Last-Modified, with
//    If-None-Match / If-Modified-Since answered 304 (RFC 9110 13.1); HEAD
//    answers the headers only (httplib routes HEAD to GET handlers and
//    sends no body);
//  * X-Content-Type-Options: nosniff and a type from a fixed table by
//    extension (application/octet-stream otherwise), so a browser never
//    guesses HTML from an upload.
//
// Threads: the handler runs on the HTTP workers; registered before serving.
#pragma once

#include <httplib.h>

#include <cstddef>
#include <string>

namespace pb::server {

// Largest file served; larger ones get 500 (put a web server in front).
constexpr std::size_t kMaxStaticFileBytes = 16u << 20;

// Registers GET "/..." for the files of `dir` (last, after the API's routes).
void register_static_files(httplib::Server& server, const std::string& dir);

}  // namespace pb::server
