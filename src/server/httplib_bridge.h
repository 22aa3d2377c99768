// The one place that runs cpp-httplib's request processing outside its own
// server loop (checked against the 0.11.4 sources, Debian 12).
//
// httplib::Server::process_request(Stream&, close_connection,
// connection_closed, setup_request) is protected and reads only through
// httplib::Stream: the request line and headers byte by byte, the body by
// Content-Length. This subclass calls it on a worker thread with a Stream
// that returns one request the connection loop has already buffered in full
// (head and body) and then end-of-stream, and that collects what httplib
// writes. httplib therefore parses, routes and answers exactly as usual, but
// it can never read past the request (pipelined bytes stay with the loop) and
// never waits on a socket. The signature changes in later httplib versions;
// nothing else in pollbridge calls it.
//
// Around the call:
//  * `Range` and `If-Range` are removed before httplib parses the request
//    (request_rewrite.h): httplib answers a multi-range request with a
//    full copy of the body per range, so no response may be partial.
//  * Header values are the client's bytes (request_rewrite.h,
//    for_each_raw_header), not httplib's percent-decoded ones.
//  * `Expect` is removed before routing (setup_request): the loop has
//    already answered 100-continue and read the body, so httplib must not
//    write an interim response into the collected bytes.
//  * close_connection is the loop's decision (the client asked to close, the
//    keep-alive request budget is spent, shutdown): httplib then writes
//    `Connection: close` and no `Keep-Alive`. A handler that sets
//    `Connection: close` itself closes the connection too (the API strips
//    httplib's `Keep-Alive` header from such a response).
//  * httplib writes a content provider's body only while its server socket
//    is valid (is_shutting_down() is `svr_sock_ == INVALID_SOCKET`), and
//    this Server never listens. The bridge therefore holds a descriptor of
//    /dev/null in svr_sock_ for its lifetime: httplib never uses it for I/O
//    (stop() closes it only while listen() runs, which never happens here).
//  * `Accept-Encoding` is taken out of the request before routing
//    (setup_request) and kept in the exchange (accept_encoding()): Debian's
//    httplib is built with CPPHTTPLIB_ZLIB_SUPPORT and BROTLI and would
//    otherwise compress a JSON or text body itself, choosing by substring
//    (`gzip;q=0` still gets gzip) and after the handler set its ETag.
//    pollbridge compresses in one place instead (response_coding.h).
//  * A handler that accepts an SSE request calls take_connection(): the
//    connection (plain socket or TLS session) leaves the loop for the hub and
//    whatever httplib writes for that request is dropped.
//  * A handler that must wait for something slow (an auth: upstream
//    admission waiting for its upstream) calls park() instead of blocking:
//    whatever httplib writes is dropped, the connection waits on the loop
//    without a thread, and the same request is run again once the wait's
//    condition holds or its deadline passes (admission_deadline() then says
//    when the wait began to end, so that the second run does not wait
//    again past it).
//
// Threads: handle() on the request workers, concurrently; routes and handlers
// are registered on the main thread before the server starts.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/transport.h"
#include "server/park_kind.h"

namespace pb::server {

class LongPollSession;

class HttplibBridge : public httplib::Server {
 public:
  // One request and its answer.
  struct Exchange {
    std::string_view request;  // exactly one request: head and body
    bool close = false;        // the connection closes after this response
    hub::Transport* io = nullptr;
    // Runs on the handler's thread when a handler takes the connection.
    std::function<void(hub::Transport&)> on_take;
    std::string remote_ip;
    int remote_port = 0;
    std::string local_ip;
    int local_port = 0;

    // The values of the credential query parameter taken out of the target
    // before httplib saw it (set_credential_param).
    std::vector<std::string> query_credentials;
    // The request's Accept-Encoding fields (joined by ", "), hidden from
    // httplib; unset when it sent none.
    std::optional<std::string> accept_encoding;

    // Set when the request runs again after a park(): the deadline given
    // then (steady clock), and the kind of that park.
    std::chrono::steady_clock::time_point admission_deadline{};
    ParkKind parked_kind = ParkKind::kAdmission;

    std::string response;      // the bytes to write (empty when taken or parked)
    bool taken = false;        // the connection went to the hub
    bool close_after = false;  // the response says Connection: close
    // park(): run the request again once `ready()` is true or at `park_until`.
    bool parked = false;
    std::function<bool()> ready;
    std::chrono::steady_clock::time_point park_until{};
    ParkKind park_kind = ParkKind::kAdmission;
    // keep_long_poll(): what the loop answers the connection's later
    // long-polls with.
    std::shared_ptr<LongPollSession> long_poll;
  };

  // The values httplib announces in its Keep-Alive response header.
  HttplibBridge(std::chrono::seconds keepalive_timeout, std::size_t keepalive_requests,
                std::size_t max_request_body);
  ~HttplibBridge() override;
  HttplibBridge(const HttplibBridge&) = delete;
  HttplibBridge& operator=(const HttplibBridge&) = delete;

  void handle(Exchange& ex);

  // The query parameter that may carry a credential (auth.query_param),
  // asked for on each request (it changes with a reload). Its values are
  // removed from the request target before httplib parses, routes or logs
  // it, and kept in the exchange (query_credentials()). Set before serving.
  void set_credential_param(std::function<std::string()> name) {
    credential_param_ = std::move(name);
  }
  // From inside a request handler: the values removed from its target.
  static std::vector<std::string> query_credentials();

  // The request's Accept-Encoding (from the exchange inside a request
  // handler; outside one, the request's own field). Unset when none was sent.
  static std::optional<std::string> accept_encoding(const httplib::Request& req);

  // From inside a request handler: takes the connection away for the hub.
  // Returns an invalid Transport outside a handler or when already taken.
  static hub::Transport take_connection();

  // From inside a request handler: drops this run's answer and has the loop
  // run the request again once `ready()` (called on the loop thread, often:
  // it must be cheap and never block) is true or `until` has passed. False
  // outside a handler or when the connection was taken.
  static bool park(std::function<bool()> ready, std::chrono::steady_clock::time_point until,
                   ParkKind kind = ParkKind::kAdmission);
  // From inside a request handler: hands `session` to the loop with the
  // request's completion (server/long_poll_session.h). Ignored outside one.
  static void keep_long_poll(std::shared_ptr<LongPollSession> session);
  // The Keep-Alive field httplib writes on a kept-alive answer.
  std::string keep_alive_field() const;

  // From inside a request handler: the deadline of the park() of `kind`
  // this request ran again after, if it did.
  static std::optional<std::chrono::steady_clock::time_point> admission_deadline(
      ParkKind kind = ParkKind::kAdmission);

 private:
  std::function<std::string()> credential_param_;
};

}  // namespace pb::server
