// One client connection as the server and the hub write to it: a plain
// socket, or a TLS session over one. The server's connection loop reads
// requests and writes responses through it; an accepted SSE request hands it
// (moved, with its TLS session) to the hub, which writes every event through
// the same object.
//
//  * Plain: write() is sendmsg(2) of the caller's buffers (MSG_NOSIGNAL),
//    so the shared, encode-once event buffers go to the kernel as they are.
//  * TLS in user space: write() is SSL_write. Small buffers are coalesced into
//    one record of at most kTlsRecordBytes (one encryption and one send for
//    several pending events); a buffer at least that large is written from
//    where it lies. A write that would block is retried later with the same
//    bytes and length, as OpenSSL requires (the buffers may move: the session
//    runs with SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER and
//    SSL_MODE_ENABLE_PARTIAL_WRITE). What a TLS client holds beyond the
//    shared ring is OpenSSL's one pending record.
//  * Kernel TLS (the server context asks for SSL_OP_ENABLE_KTLS): once the
//    handshake is done and BIO_get_ktls_send() says the kernel encrypts,
//    write() is sendmsg(2) as for plain sockets. Reads still go through
//    OpenSSL; a peer KeyUpdate cannot be passed to the kernel by OpenSSL 3.0,
//    so such a connection is closed (the client resumes).
//
// Threads: a Transport is used by one thread at a time (the connection loop,
// a request worker while it handles the request, then one hub thread); it
// moves between them through their queues.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <memory>

typedef struct ssl_st SSL;

namespace pb::hub {

// Largest plaintext of one TLS record (RFC 8446 5.1): coalescing stops there.
constexpr std::size_t kTlsRecordBytes = 16384;

class Transport {
 public:
  // Results of read() and write() besides a byte count (> 0).
  static constexpr ssize_t kClosed = -1;  // EOF, reset or a TLS failure
  static constexpr ssize_t kAgain = -2;   // would block: wait for the socket

  Transport() = default;
  // Takes ownership of a connected stream socket.
  static Transport plain(int fd);
  // Takes ownership of the socket and of a session whose handshake is done.
  static Transport tls(int fd, SSL* ssl);
  ~Transport() { close(); }
  Transport(Transport&& o) noexcept;
  Transport& operator=(Transport&& o) noexcept;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  SSL* ssl() const { return ssl_; }
  bool is_tls() const { return ssl_ != nullptr; }
  // TLS whose records the kernel writes (kTLS send offload).
  bool kernel_tls() const { return ktls_send_; }

  // The socket is already non-blocking with TCP_NODELAY (the server's loop
  // prepares every socket it accepts); otherwise the hub prepares it.
  bool prepared() const { return prepared_; }
  void set_prepared() { prepared_ = true; }

  // Writes from the front of the gathered buffers (which hold everything the
  // caller has pending, in order). Returns the bytes taken, kAgain or kClosed.
  ssize_t write(const iovec* iov, int count);
  ssize_t write(const char* data, std::size_t size);
  // Reads up to `size` bytes: a count, kAgain, or kClosed (EOF included).
  ssize_t read(char* buf, std::size_t size);

  // Server side of TLS on this (plain, so far) socket: takes ownership of
  // `ssl`, whose handshake handshake() then runs as far as the socket
  // allows: 1 once done, kAgain, or kClosed when it failed.
  void start_tls(SSL* ssl);
  ssize_t handshake();
  bool handshake_done() const { return ssl_ == nullptr || handshaken_; }

  // Ends the sending direction: close_notify on TLS (if it can be sent
  // without blocking), then shutdown(SHUT_WR). The peer sees the end of the
  // response; what it still sends can be read (and dropped) before close().
  void shutdown_write();

  // Whatever must be released when the connection ends (the server's
  // connection count); dropped by close().
  void hold(std::shared_ptr<void> token) { token_ = std::move(token); }

  // Sends a TLS close_notify if it can without blocking, frees the session,
  // closes the socket. Idempotent.
  void close();

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool ktls_send_ = false;
  bool prepared_ = false;
  bool handshaken_ = false;
  bool write_shut_ = false;
  // TLS: the length of a write that returned kAgain; the next write must
  // offer the same bytes with the same length.
  std::size_t pending_ = 0;
  std::shared_ptr<void> token_;
};

}  // namespace pb::hub
