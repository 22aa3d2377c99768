// Certificates for the TLS tests, made with the openssl command line in a
// temporary folder (EC P-256 keys: quick to make):
//
//   ca            a test CA; `cert`/`key` and `cert2`/`key2` are two server
//                 certificates it signed for localhost and 127.0.0.1 (the
//                 second one for rotation: another subject, CN=rotated)
//   other_key     a key that matches no certificate
//   expired       a certificate (for `key`) that expired yesterday
//   client_cert   a client certificate (and client_key) the CA signed
//   rogue_cert    a client certificate (and rogue_key) from another CA
#pragma once

#include <string>

#include "support/proxy_process.h"

namespace pb::testing {

class TestCerts {
 public:
  TestCerts();
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const TempDir& dir() const { return dir_; }

  std::string ca, cert, key, cert2, key2, other_key, expired;
  std::string client_cert, client_key, rogue_cert, rogue_key;

 private:
  TempDir dir_;
  bool ok_ = false;
  std::string error_;
};

}  // namespace pb::testing
