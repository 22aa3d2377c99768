// pollbridge's own listening socket (httplib's would set SO_REUSEPORT and
// listen with a backlog of 5):
//
//  * SO_REUSEADDR (a restart binds at once over TIME_WAIT connections), and
//    SO_REUSEPORT only with server.reuse_port: true. Without it a port that
//    another process holds fails start-up with a clear message, instead of
//    the kernel silently splitting clients between two processes.
//  * listen(2) with server.backlog (the kernel caps it at somaxconn).
//  * A reserve descriptor: when accept(2) fails with EMFILE or ENFILE, the
//    reserve is closed, the waiting connection accepted and closed at once
//    (the client sees a closed connection instead of hanging in the
//    backlog), and the reserve taken again. Running out of descriptors never
//    stops the accept loop, and never makes it spin.
//
// Threads: constructed on the main thread; accept() on the connection loop
// thread.
#pragma once

#include <sys/socket.h>

#include <stdexcept>
#include <string>

namespace pb::server {

class ListenError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Listener {
 public:
  // Binds and listens; throws ListenError with the reason. Port 0: any.
  Listener(const std::string& host, int port, int backlog, bool reuse_port);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int fd() const { return fd_; }
  int port() const { return port_; }

  static constexpr int kNone = -1;  // nothing waiting (or a connection gone before accept)
  static constexpr int kShed = -2;  // out of descriptors: one connection was closed unserved
  // Out of descriptors and the reserve could not be taken back (another
  // thread used the last one): the caller stops accepting for a moment.
  static constexpr int kExhausted = -3;

  // Accepts one connection as a non-blocking, close-on-exec socket; returns
  // it, kNone, kShed or kExhausted.
  int accept(sockaddr_storage& peer);

  void close();

 private:
  int fd_ = -1;
  int reserve_ = -1;
  int port_ = 0;
};

}  // namespace pb::server
