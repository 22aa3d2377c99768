// A private certificate authority for tests, made with the `openssl` command
// line in a temporary folder: a CA certificate, and server or client
// certificates it signs (PEM files), so TLS tests need nothing from outside.
//
// Threads: one test thread.
#pragma once

#include <string>
#include <vector>

#include "support/proxy_process.h"

namespace pb::testing {

struct CertFiles {
  std::string cert;  // PEM certificate
  std::string key;   // PEM private key (unencrypted)
};

class TestCa {
 public:
  // `name` becomes the CA's common name.
  explicit TestCa(const std::string& name = "pollbridge test CA");
  const std::string& cert() const { return ca_.cert; }
  // A server certificate for these IP addresses / DNS names (subjectAltName).
  CertFiles server(const std::string& name, const std::vector<std::string>& ips,
                   const std::vector<std::string>& dns = {"localhost"});
  // A client certificate (extendedKeyUsage clientAuth).
  CertFiles client(const std::string& name);

 private:
  CertFiles issue(const std::string& name, const std::string& extensions);
  TempDir dir_;
  CertFiles ca_;
  int serial_ = 1;
};

}  // namespace pb::testing
