// The header fields every answer must have right (RFC 9110 6.6.1, 8.6,
// 9.3.2, 14.3), whichever route made it. cpp-httplib leaves one out and,
// before the post-routing step, adds some that are wrong here:
//
//  * no Date: an origin server with a clock must send it on every 2xx, 3xx
//    and 4xx answer (RFC 9110 6.6.1); every answer gets it here.
//  * "Content-Length: 0" on every answer whose body is empty. A 204 (the
//    CORS preflight) must not carry it at all, and a 304 only with the
//    length its 200 would have; for a HEAD of an event stream (its GET has
//    no length: it ends with the connection) or of a long-poll (its length
//    depends on the events there are then) it is a length the GET would
//    not have. A handler that answers such a HEAD calls without_length().
//  * "Accept-Ranges: bytes" on every HEAD answer, though no route serves a
//    range (the Range field is dropped before routing: request_rewrite.h)
//    and the GET answer says nothing of ranges.
//
// Every post-routing step calls finish_fields(). The answers written
// without cpp-httplib (an event stream's head, the connection loop's
// errors and long-poll answers) add Date themselves.
//
// Threads: any (pure functions of one response).
#pragma once

#include <httplib.h>

namespace pb::server {

// Marks `res` (a HEAD answer with an empty body) as one whose GET has no
// length to announce: keeps cpp-httplib from adding "Content-Length: 0".
void without_length(httplib::Response& res);

// The post-routing step's part for these fields: adds Date; removes
// Content-Length from a 204 or 304 and the mark of without_length(), and
// cpp-httplib's "Accept-Ranges: bytes" from a HEAD answer.
void finish_fields(const httplib::Request& req, httplib::Response& res);

}  // namespace pb::server
