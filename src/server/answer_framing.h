// The framing fields of an answer as HTTP wants them (RFC 9110 8.6, 9.3.2,
// 14.3). cpp-httplib, before the post-routing step, adds fields that are
// wrong here:
//
//  * "Content-Length: 0" to every answer whose body is empty. A 204 (the
//    CORS preflight) must not carry it at all, and a 304 only with the
//    length its 200 would have; for a HEAD of an event stream (its GET has
//    no length: it ends with the connection) or of a long-poll (its length
//    depends on the events there are then) it is a length the GET would
//    not have. A handler that answers such a HEAD calls without_length().
//  * "Accept-Ranges: bytes" to every HEAD answer, though no route serves a
//    range (the Range field is dropped before routing: request_rewrite.h)
//    and the GET answer says nothing of ranges.
//
// Every post-routing step calls finish_framing(), which removes them.
//
// Threads: any (pure functions of one response).
#pragma once

#include <httplib.h>

namespace pb::server {

// Marks `res` (a HEAD answer with an empty body) as one whose GET has no
// length to announce: keeps cpp-httplib from adding "Content-Length: 0".
void without_length(httplib::Response& res);

// The post-routing step's part for framing: removes Content-Length from a
// 204 or 304 and the mark of without_length(), and cpp-httplib's
// "Accept-Ranges: bytes" from a HEAD answer.
void finish_framing(const httplib::Request& req, httplib::Response& res);

}  // namespace pb::server
