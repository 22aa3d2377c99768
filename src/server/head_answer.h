// HEAD answers (RFC 9110 9.3.2): the header fields a GET would get, no
// content. cpp-httplib routes HEAD to the GET handlers and then, before the
// post-routing step, adds two fields that are wrong here:
//
//  * "Accept-Ranges: bytes" on every HEAD answer, though no route serves a
//    range (the Range field is dropped before routing: request_rewrite.h)
//    and the GET answer says nothing of ranges;
//  * "Content-Length: 0" where the handler left the body empty. For an
//    event stream (its GET has no length: it ends with the connection) and
//    a long-poll (its length depends on the events there are then) that is
//    a length the GET would not have, which RFC 9110 8.6 forbids.
//
// A handler that answers such a HEAD calls without_length(); every
// post-routing step calls finish_head(), which removes both.
//
// Threads: any (pure functions of one response).
#pragma once

#include <httplib.h>

namespace pb::server {

// Marks `res` (a HEAD answer with an empty body) as one whose GET has no
// length to announce: keeps cpp-httplib from adding "Content-Length: 0".
void without_length(httplib::Response& res);

// The post-routing step's part for HEAD: removes cpp-httplib's
// "Accept-Ranges: bytes" and the mark of without_length(). Nothing for
// other methods.
void finish_head(const httplib::Request& req, httplib::Response& res);

}  // namespace pb::server
