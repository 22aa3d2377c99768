// cpp-httplib's server with two changes that the stream plane needs, kept in
// this one file:
//
//  * Socket handoff. httplib serves a connection on a worker thread for as
//    long as its response lasts. This subclass runs the connection loop
//    itself (process_and_close_socket is virtual; process_request is
//    protected), so a handler can take the socket away with take_socket():
//    httplib's own response write for that request is then discarded, the
//    worker returns to the pool, and the socket belongs to the hub.
//  * A real listen backlog. Debian's compiled httplib listens with a backlog
//    of 5; a reconnect storm of hundreds of clients would wait seconds on SYN
//    retries. bind() re-issues listen(2) with the configured backlog.
//
// TLS: this server speaks plain HTTP. The hub writes to raw sockets; serving
// TLS would mean carrying the SSL* into the hub (a Transport beside the fd in
// the hub session). Until that exists, terminate TLS in front of pollbridge.
//
// Threads: handlers run on httplib's worker pool; take_socket() only from a
// handler.
#pragma once

#include <httplib.h>

#include <cstddef>
#include <string>

namespace pb::server {

class HttpServer : public httplib::Server {
 public:
  HttpServer(std::size_t workers, int backlog);

  // Binds host:port (0 = any free port) and listens with the configured
  // backlog. Returns the bound port, or -1.
  int bind(const std::string& host, int port);
  // Accepts connections until stop(); blocks.
  bool serve();

  // From inside a request handler: takes the connection's socket away from
  // httplib and returns it (the caller now owns it). Returns -1 when not
  // called from a handler of an HttpServer.
  static int take_socket();

 private:
  bool process_and_close_socket(socket_t sock) override;
  bool wait_for_request(socket_t sock, bool first) const;

  int backlog_;
};

}  // namespace pb::server
