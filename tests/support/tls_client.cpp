#include "support/tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pb::testing {
namespace {

std::string last_error() {
  unsigned long e = ERR_get_error();
  char buf[256] = {0};
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return e ? buf : "unknown TLS error";
}

}  // namespace

TlsConn::TlsConn(int port, const TlsClientOptions& o, const std::string& host) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error_ = std::string("connect: ") + strerror(errno);
    return;
  }
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (o.min_version) SSL_CTX_set_min_proto_version(ctx_, o.min_version);
  if (o.max_version) {
    SSL_CTX_set_max_proto_version(ctx_, o.max_version);
    // OpenSSL 3 refuses TLS 1.1 at its default security level; a test of
    // an old client must really offer it.
    if (o.max_version < TLS1_2_VERSION) SSL_CTX_set_security_level(ctx_, 0);
  }
  if (!o.ca_file.empty()) {
    SSL_CTX_load_verify_locations(ctx_, o.ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  }
  if (!o.cert_file.empty()) {
    SSL_CTX_use_certificate_chain_file(ctx_, o.cert_file.c_str());
    SSL_CTX_use_PrivateKey_file(ctx_, o.key_file.c_str(), SSL_FILETYPE_PEM);
  }
  if (!o.alpn.empty()) {
    std::string wire;
    std::size_t start = 0;
    while (start <= o.alpn.size()) {
      std::size_t comma = o.alpn.find(',', start);
      std::string p =
          o.alpn.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      wire.push_back(static_cast<char>(p.size()));
      wire += p;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, o.server_name.c_str());
  if (!o.ca_file.empty()) SSL_set1_host(ssl_, o.server_name.c_str());
  if (SSL_connect(ssl_) != 1) {
    error_ = "handshake: " + last_error();
    return;
  }
  // TLS 1.3 sends a client certificate's verdict after the handshake: a
  // refused one shows on the first read, so make the server speak now.
}

TlsConn::~TlsConn() {
  if (ssl_) SSL_free(ssl_);
  if (ctx_) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

bool TlsConn::send(const std::string& bytes) {
  if (!ssl_) return false;
  std::size_t off = 0;
  while (off < bytes.size()) {
    int w = SSL_write(ssl_, bytes.data() + off, static_cast<int>(bytes.size() - off));
    if (w <= 0) return false;
    off += static_cast<std::size_t>(w);
  }
  return true;
}

int TlsConn::recv(std::string& out, std::chrono::milliseconds timeout) {
  if (!ssl_) return 0;
  if (SSL_pending(ssl_) == 0) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -1;
  }
  char buf[16384];
  int n = SSL_read(ssl_, buf, sizeof buf);
  if (n <= 0) {
    int e = SSL_get_error(ssl_, n);
    if (e == SSL_ERROR_WANT_READ) return -1;
    ERR_clear_error();
    return 0;
  }
  out.append(buf, static_cast<std::size_t>(n));
  return n;
}

std::string TlsConn::read_all(std::chrono::milliseconds timeout) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (recv(out, left) <= 0) break;
  }
  return out;
}

std::string TlsConn::alpn() const {
  const unsigned char* p = nullptr;
  unsigned len = 0;
  if (ssl_) SSL_get0_alpn_selected(ssl_, &p, &len);
  return p ? std::string(reinterpret_cast<const char*>(p), len) : "";
}

std::string TlsConn::peer_subject() const {
  if (!ssl_) return "";
  X509* c = SSL_get1_peer_certificate(ssl_);
  if (!c) return "";
  char buf[512] = {0};
  X509_NAME_oneline(X509_get_subject_name(c), buf, sizeof buf);
  X509_free(c);
  return buf;
}

std::string https_request(int port, const std::string& request, const TlsClientOptions& options,
                          std::string* error) {
  TlsConn c(port, options);
  if (!c.ok()) {
    if (error) *error = c.error();
    return "";
  }
  if (!c.send(request)) {
    if (error) *error = "send failed";
    return "";
  }
  return c.read_all(std::chrono::seconds(5));
}

}  // namespace pb::testing
