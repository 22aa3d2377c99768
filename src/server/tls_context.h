// pollbridge's TLS server context (OpenSSL 3), built from server.tls:
//
//  * the certificate chain (`cert`, PEM: leaf first) and its key (`key`);
//    a key that does not match, a certificate that has expired or is not
//    valid yet, and a file that cannot be read or holds no PEM object are
//    problems reported as "file:line:col: server.tls.<key>: ..." against the
//    config position of the file's name;
//  * protocol floor `min_version` (default TLS 1.2; 1.0 and 1.1 are never
//    offered), the server's cipher order, `ciphers` for TLS 1.2 (TLS 1.3
//    suites are OpenSSL's defaults), no renegotiation, no compression;
//  * resumption by stateless tickets only, at most one ticket per handshake
//    (`session_tickets: false` sends none); no server-side session cache, so
//    memory does not grow with past clients;
//  * ALPN: `http/1.1` is selected when offered (a client offering only h2 is
//    answered without ALPN and speaks HTTP/1.1 or leaves);
//  * `client_ca`: mutual TLS. Every client must present a certificate that
//    chains to that bundle, or the handshake fails. The certificate is only
//    the admission ticket: nothing of it is forwarded upstream, put into a
//    header, logged or used to choose what a client may read;
//  * SSL_MODE_RELEASE_BUFFERS (no 34 KB of buffers per idle connection),
//    partial writes with a moving buffer (the hub's write path), and
//    SSL_OP_ENABLE_KTLS: where the kernel has TLS offload (CONFIG_TLS), the
//    hub writes events with sendmsg(2) as for plain sockets.
//
// A context is immutable once built; a reload builds a new one and swaps it
// in for new connections (sessions keep a reference to theirs).
//
// Threads: load() on any thread; a built context is used from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace pb::server {

class TlsContext {
 public:
  // Builds a context, or returns nullptr with every problem in `problems`.
  static std::shared_ptr<TlsContext> load(const config::TlsConfig& cfg,
                                          std::vector<std::string>& problems);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  // For the log: the leaf's subject and expiry, and whether clients must
  // present a certificate.
  const std::string& subject() const { return subject_; }
  const std::string& not_after() const { return not_after_; }
  bool mutual() const { return mutual_; }

 private:
  TlsContext() = default;

  SSL_CTX* ctx_ = nullptr;
  std::string subject_;
  std::string not_after_;
  bool mutual_ = false;
};

}  // namespace pb::server
