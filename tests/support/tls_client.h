// A real TLS client for tests (OpenSSL, blocking socket): verifies the
// server against a CA and a host name, can offer only old protocol versions,
// present a client certificate or offer ALPN protocols.
#pragma once

#include <chrono>
#include <string>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace pb::testing {

struct TlsClientOptions {
  std::string ca_file;                    // verify the server with it (empty: no verification)
  std::string server_name = "localhost";  // SNI and the name checked
  std::string cert_file, key_file;        // a client certificate (mutual TLS)
  int min_version = 0;                    // TLS1_1_VERSION... (0: OpenSSL's default)
  int max_version = 0;
  std::string alpn = "http/1.1";  // comma-separated; empty: none
};

class TlsConn {
 public:
  // Connects and completes the handshake; ok() is false (error() says why)
  // when either fails.
  TlsConn(int port, const TlsClientOptions& options, const std::string& host = "127.0.0.1");
  ~TlsConn();
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;

  bool ok() const { return ssl_ != nullptr && error_.empty(); }
  const std::string& error() const { return error_; }
  int fd() const { return fd_; }

  bool send(const std::string& bytes);
  // Appends what arrives within `timeout`: the byte count, 0 at the end of
  // the stream, -1 on timeout.
  int recv(std::string& out, std::chrono::milliseconds timeout);
  // Everything until the server closes (or `timeout` passes).
  std::string read_all(std::chrono::milliseconds timeout);

  std::string alpn() const;
  std::string peer_subject() const;  // the server certificate's subject, one line

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string error_;
};

// One HTTPS request (Connection: close); the whole response, or "" with
// `error` set.
std::string https_request(int port, const std::string& request, const TlsClientOptions& options,
                          std::string* error = nullptr);

}  // namespace pb::testing
