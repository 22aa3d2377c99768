#include "support/test_certs.h"

#include <cstdio>
#include <cstdlib>

namespace pb::testing {

TestCerts::TestCerts() {
  const std::string d = dir_.path();
  ca = d + "/ca.pem";
  cert = d + "/server.pem";
  key = d + "/server.key";
  cert2 = d + "/server2.pem";
  key2 = d + "/server2.key";
  other_key = d + "/other.key";
  expired = d + "/expired.pem";
  client_cert = d + "/client.pem";
  client_key = d + "/client.key";
  rogue_cert = d + "/rogue.pem";
  rogue_key = d + "/rogue.key";
  // One shell script: every step is an ordinary openssl invocation.
  std::string script =
      "set -e; cd '" + d +
      "'\n"
      "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1\"; }\n"
      "key ca.key; key server.key; key server2.key; key other.key; key client.key\n"
      "key rogue-ca.key; key rogue.key\n"
      "openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=pollbridge-test-ca\n"
      "openssl req -x509 -new -key rogue-ca.key -out rogue-ca.pem -days 2 -subj /CN=rogue-ca\n"
      "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext\n"
      "printf 'extendedKeyUsage=clientAuth\\n' > client.ext\n"
      "sign() { openssl req -new -key \"$1\" -subj \"$2\" -out req.csr &&"
      " openssl x509 -req -in req.csr -CA \"$3\" -CAkey \"$4\" -CAcreateserial -days \"$5\""
      " -extfile \"$6\" -out \"$7\"; }\n"
      "sign server.key /CN=localhost ca.pem ca.key 1 san.ext server.pem\n"
      "sign server2.key /CN=rotated ca.pem ca.key 1 san.ext server2.pem\n"
      "sign server.key /CN=localhost ca.pem ca.key -1 san.ext expired.pem\n"
      "sign client.key /CN=test-client ca.pem ca.key 1 client.ext client.pem\n"
      "sign rogue.key /CN=rogue-client rogue-ca.pem rogue-ca.key 1 client.ext rogue.pem\n";
  dir_.write("make.sh", script);
  std::string cmd = "sh '" + d + "/make.sh' > '" + d + "/make.log' 2>&1";
  int rc = std::system(cmd.c_str());
  ok_ = rc == 0;
  if (!ok_) {
    std::FILE* f = std::fopen((d + "/make.log").c_str(), "r");
    char buf[4096] = {0};
    if (f) {
      std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
      buf[n] = 0;
      std::fclose(f);
    }
    error_ = "openssl failed: " + std::string(buf);
  }
}

}  // namespace pb::testing
