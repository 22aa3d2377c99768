#include "hub/transport.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pb::hub {
namespace {

// Where small buffers are gathered into one TLS record; one per thread that
// writes (the connection loop, each hub thread), never per connection.
thread_local char tl_record[kTlsRecordBytes];

// ex_data slot marking a session whose peer sent a KeyUpdate.
int key_update_index() {
  static const int kIndex = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return kIndex;
}

// OpenSSL's message callback: notes a KeyUpdate received on a session whose
// sending the kernel does (see transport.h).
void on_tls_message(int write_p, int /*version*/, int content_type, const void* buf, size_t len,
                    SSL* ssl, void* /*arg*/) {
  if (write_p || content_type != SSL3_RT_HANDSHAKE || len < 1) return;
  if (static_cast<const unsigned char*>(buf)[0] == SSL3_MT_KEY_UPDATE) {
    SSL_set_ex_data(ssl, key_update_index(), reinterpret_cast<void*>(1));
  }
}

ssize_t plain_write(int fd, const iovec* iov, int count) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<std::size_t>(count);
  for (;;) {
    // sendmsg rather than writev: MSG_NOSIGNAL, so that a closed peer is
    // EPIPE on any thread, whatever its signal mask.
    ssize_t w = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (w >= 0) return w;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Transport::kAgain;
    return Transport::kClosed;
  }
}

// kAgain or kClosed for a failed SSL_read / SSL_write.
ssize_t tls_failure(SSL* ssl, int r) {
  switch (SSL_get_error(ssl, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return Transport::kAgain;
    default:
      return Transport::kClosed;
  }
}

}  // namespace

Transport Transport::plain(int fd) {
  Transport t;
  t.fd_ = fd;
  return t;
}

Transport Transport::tls(int fd, SSL* ssl) {
  Transport t;
  t.fd_ = fd;
  t.ssl_ = ssl;
  t.handshaken_ = true;
  t.ktls_send_ = BIO_get_ktls_send(SSL_get_wbio(ssl)) != 0;
  if (t.ktls_send_) SSL_set_msg_callback(ssl, on_tls_message);
  return t;
}

void Transport::start_tls(SSL* ssl) {
  if (ssl_) SSL_free(ssl_);
  ssl_ = ssl;
  handshaken_ = false;
  SSL_set_fd(ssl_, fd_);
  SSL_set_accept_state(ssl_);
}

ssize_t Transport::handshake() {
  if (ssl_ == nullptr || handshaken_) return 1;
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    handshaken_ = true;
    ktls_send_ = BIO_get_ktls_send(SSL_get_wbio(ssl_)) != 0;
    if (ktls_send_) SSL_set_msg_callback(ssl_, on_tls_message);
    return 1;
  }
  ssize_t f = tls_failure(ssl_, r);
  if (f == kClosed) ERR_clear_error();
  return f;
}

void Transport::shutdown_write() {
  if (fd_ < 0 || write_shut_) return;
  write_shut_ = true;
  if (ssl_ != nullptr && handshaken_ && pending_ == 0) {
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  ::shutdown(fd_, SHUT_WR);
}

Transport::Transport(Transport&& o) noexcept
    : fd_(o.fd_),
      ssl_(o.ssl_),
      ktls_send_(o.ktls_send_),
      prepared_(o.prepared_),
      handshaken_(o.handshaken_),
      write_shut_(o.write_shut_),
      pending_(o.pending_),
      token_(std::move(o.token_)) {
  o.fd_ = -1;
  o.ssl_ = nullptr;
  o.pending_ = 0;
}

Transport& Transport::operator=(Transport&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    ssl_ = o.ssl_;
    ktls_send_ = o.ktls_send_;
    prepared_ = o.prepared_;
    handshaken_ = o.handshaken_;
    write_shut_ = o.write_shut_;
    pending_ = o.pending_;
    token_ = std::move(o.token_);
    o.fd_ = -1;
    o.ssl_ = nullptr;
    o.pending_ = 0;
  }
  return *this;
}

ssize_t Transport::write(const char* data, std::size_t size) {
  iovec one{const_cast<char*>(data), size};
  return write(&one, 1);
}

ssize_t Transport::write(const iovec* iov, int count) {
  if (fd_ < 0) return kClosed;
  if (count <= 0) return 0;
  if (ssl_ == nullptr || ktls_send_) return plain_write(fd_, iov, count);

  // One record's worth from the front, or exactly what the blocked write
  // offered (the caller has not advanced since).
  std::size_t want = pending_;
  if (want == 0) {
    for (int i = 0; i < count && want < kTlsRecordBytes; ++i) want += iov[i].iov_len;
    want = std::min(want, kTlsRecordBytes);
    if (want == 0) return 0;
  }
  const char* src;
  if (iov[0].iov_len >= want) {
    src = static_cast<const char*>(iov[0].iov_base);  // written where it lies
  } else {
    std::size_t got = 0;
    for (int i = 0; i < count && got < want; ++i) {
      std::size_t n = std::min(iov[i].iov_len, want - got);
      std::memcpy(tl_record + got, iov[i].iov_base, n);
      got += n;
    }
    if (got < want) return kClosed;  // the caller dropped bytes it had offered
    src = tl_record;
  }
  ERR_clear_error();
  int r = SSL_write(ssl_, src, static_cast<int>(want));
  if (r > 0) {
    pending_ = 0;
    return r;
  }
  ssize_t f = tls_failure(ssl_, r);
  if (f == kAgain) pending_ = want;
  return f;
}

ssize_t Transport::read(char* buf, std::size_t size) {
  if (fd_ < 0) return kClosed;
  if (ssl_ == nullptr) {
    for (;;) {
      ssize_t r = ::recv(fd_, buf, size, 0);
      if (r > 0) return r;
      if (r == 0) return kClosed;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return kAgain;
      return kClosed;
    }
  }
  ERR_clear_error();
  int r = SSL_read(ssl_, buf, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
  if (ktls_send_ && SSL_get_ex_data(ssl_, key_update_index()) != nullptr) return kClosed;
  if (r > 0) return r;
  return tls_failure(ssl_, r);
}

void Transport::close() {
  if (ssl_ != nullptr) {
    // One non-blocking attempt at close_notify; never waits for the peer's.
    if (handshaken_ && !write_shut_ && pending_ == 0) {
      ERR_clear_error();
      SSL_shutdown(ssl_);
    }
    SSL_free(ssl_);
    ssl_ = nullptr;
    ERR_clear_error();
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  pending_ = 0;
  handshaken_ = write_shut_ = false;
  token_.reset();
}

}  // namespace pb::hub
