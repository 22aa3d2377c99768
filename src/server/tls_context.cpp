#include "server/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace pb::server {
namespace {

// Mozilla's "intermediate" TLS 1.2 list without DHE (which would need DH
// parameters): forward secrecy and AEAD only, server order.
constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Session id context for resumption with client certificates (OpenSSL
// refuses to resume a verified session without one).
constexpr unsigned char kSessionContext[] = "pollbridge";

// The reason of the newest OpenSSL error, and the queue cleared.
std::string openssl_reason() {
  unsigned long e = 0;
  unsigned long last = 0;
  while ((e = ERR_get_error()) != 0) last = e;
  if (last == 0) return "unknown OpenSSL error";
  const char* r = ERR_reason_error_string(last);
  return r ? r : "unknown OpenSSL error";
}

// Empty if the file can be opened for reading, else why not.
std::string unreadable(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return std::strerror(errno);
  std::fclose(f);
  return {};
}

std::string asn1_time_text(const ASN1_TIME* t) {
  BIO* b = BIO_new(BIO_s_mem());
  if (b == nullptr) return "?";
  ASN1_TIME_print(b, t);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  static const unsigned char kHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};
  for (unsigned int i = 0; i < inlen;) {
    unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == sizeof kHttp11 && std::memcmp(in + i + 1, kHttp11, len) == 0) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// Encrypted keys are not supported: never prompt on a terminal for one.
int no_password(char*, int, int, void*) {
  return 0;
}

}  // namespace

TlsContext::~TlsContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

std::shared_ptr<TlsContext> TlsContext::load(const config::TlsConfig& cfg,
                                             std::vector<std::string>& problems) {
  const std::size_t before = problems.size();
  auto problem = [&](const std::string& where, const std::string& key, const std::string& text) {
    problems.push_back((where.empty() ? std::string("server.tls") : where + ": server.tls") + "." +
                       key + ": " + text);
  };
  std::shared_ptr<TlsContext> t(new TlsContext());
  ERR_clear_error();
  t->ctx_ = SSL_CTX_new(TLS_server_method());
  if (t->ctx_ == nullptr) {
    problems.push_back("server.tls: cannot create a TLS context: " + openssl_reason());
    return nullptr;
  }
  SSL_CTX* ctx = t->ctx_;
  SSL_CTX_set_default_passwd_cb(ctx, no_password);
  SSL_CTX_set_min_proto_version(ctx, cfg.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  long options = SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION;
#ifdef SSL_OP_ENABLE_KTLS
  options |= SSL_OP_ENABLE_KTLS;
#endif
  if (!cfg.session_tickets) options |= SSL_OP_NO_TICKET;
  SSL_CTX_set_options(ctx, options);
  SSL_CTX_set_num_tickets(ctx, cfg.session_tickets ? 1 : 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  if (SSL_CTX_set_cipher_list(ctx, cfg.ciphers.empty() ? kDefaultCiphers : cfg.ciphers.c_str()) !=
      1) {
    problem(cfg.ciphers_where, "ciphers", "no usable cipher in \"" + cfg.ciphers + "\"");
    ERR_clear_error();
  }

  bool cert_ok = false;
  if (std::string why = unreadable(cfg.cert); !why.empty()) {
    problem(cfg.cert_where, "cert", "cannot read \"" + cfg.cert + "\": " + why);
  } else if (SSL_CTX_use_certificate_chain_file(ctx, cfg.cert.c_str()) != 1) {
    problem(cfg.cert_where, "cert",
            "\"" + cfg.cert + "\" holds no usable PEM certificate: " + openssl_reason());
  } else {
    cert_ok = true;
  }
  // The key is read on its own first, so that one that does not belong to
  // the certificate is told apart from one that cannot be read.
  EVP_PKEY* pkey = nullptr;
  if (std::string why = unreadable(cfg.key); !why.empty()) {
    problem(cfg.key_where, "key", "cannot read \"" + cfg.key + "\": " + why);
  } else if (BIO* in = BIO_new_file(cfg.key.c_str(), "r"); in != nullptr) {
    pkey = PEM_read_bio_PrivateKey(in, nullptr, no_password, nullptr);
    BIO_free(in);
    if (pkey == nullptr) {
      problem(cfg.key_where, "key",
              "\"" + cfg.key + "\" holds no usable PEM private key (encrypted keys are not " +
                  "supported): " + openssl_reason());
    }
  }
  if (pkey != nullptr && cert_ok) {
    X509* leaf = SSL_CTX_get0_certificate(ctx);
    if (leaf == nullptr || X509_check_private_key(leaf, pkey) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
      problem(cfg.key_where, "key",
              "\"" + cfg.key + "\" does not match the certificate in \"" + cfg.cert + "\"");
    }
    ERR_clear_error();
  }
  EVP_PKEY_free(pkey);
  if (cert_ok) {
    X509* leaf = SSL_CTX_get0_certificate(ctx);
    if (leaf != nullptr) {
      const ASN1_TIME* not_after = X509_get0_notAfter(leaf);
      const ASN1_TIME* not_before = X509_get0_notBefore(leaf);
      t->not_after_ = asn1_time_text(not_after);
      if (X509_cmp_current_time(not_after) <= 0) {
        problem(cfg.cert_where, "cert",
                "the certificate in \"" + cfg.cert + "\" expired on " + t->not_after_);
      } else if (X509_cmp_current_time(not_before) >= 0) {
        problem(cfg.cert_where, "cert",
                "the certificate in \"" + cfg.cert + "\" is not valid before " +
                    asn1_time_text(not_before));
      }
      char name[512] = {0};
      X509_NAME_oneline(X509_get_subject_name(leaf), name, sizeof name);
      t->subject_ = name;
    }
  }
  if (!cfg.client_ca.empty()) {
    t->mutual_ = true;
    if (std::string why = unreadable(cfg.client_ca); !why.empty()) {
      problem(cfg.client_ca_where, "client_ca", "cannot read \"" + cfg.client_ca + "\": " + why);
    } else {
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(cfg.client_ca.c_str());
      if (names == nullptr ||
          SSL_CTX_load_verify_locations(ctx, cfg.client_ca.c_str(), nullptr) != 1) {
        if (names) sk_X509_NAME_pop_free(names, X509_NAME_free);
        problem(
            cfg.client_ca_where, "client_ca",
            "\"" + cfg.client_ca + "\" holds no usable PEM CA certificate: " + openssl_reason());
      } else {
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      }
    }
  }
  ERR_clear_error();
  if (problems.size() != before) return nullptr;
  return t;
}

}  // namespace pb::server
