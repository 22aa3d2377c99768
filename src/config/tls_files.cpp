#include "config/tls_files.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>

namespace pb::config {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

}  // namespace

PairFault check_key_pair(const std::string& cert_path, const std::string& key_path,
                         std::string& why) {
  File cf(std::fopen(cert_path.c_str(), "rb"));
  File kf(std::fopen(key_path.c_str(), "rb"));
  if (!cf) {
    why = cert_path + " cannot be read";
    return PairFault::kCertificate;
  }
  if (!kf) {
    why = key_path + " cannot be read";
    return PairFault::kKey;
  }
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_X509(cf.get(), nullptr, nullptr, nullptr), X509_free);
  if (!cert) {
    ERR_clear_error();
    why = cert_path + " holds no PEM certificate";
    return PairFault::kCertificate;
  }
  // No passphrase prompt: an encrypted key cannot be used unattended.
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_PrivateKey(
          kf.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr),
      EVP_PKEY_free);
  if (!key) {
    ERR_clear_error();
    why = key_path + " holds no unencrypted PEM private key";
    return PairFault::kKey;
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    why = key_path + " does not match the certificate in " + cert_path;
    return PairFault::kKey;
  }
  return PairFault::kNone;
}

}  // namespace pb::config
