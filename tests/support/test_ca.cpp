#include "support/test_ca.h"

#include <cstdlib>
#include <stdexcept>

namespace pb::testing {
namespace {

void run(const std::string& command) {
  // Quiet unless it fails; the command line is ours, with paths from mkdtemp.
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
    throw std::runtime_error("openssl failed: " + command);
  }
}

}  // namespace

TestCa::TestCa(const std::string& name) {
  ca_ = {dir_.file("ca.pem"), dir_.file("ca.key")};
  run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=" + name + "' -keyout " +
      ca_.key + " -out " + ca_.cert +
      " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
}

CertFiles TestCa::issue(const std::string& name, const std::string& extensions) {
  const std::string base = dir_.file(name);
  CertFiles out{base + ".pem", base + ".key"};
  dir_.write(name + ".ext", extensions);
  run("openssl req -newkey rsa:2048 -nodes -subj '/CN=" + name + "' -keyout " + out.key + " -out " +
      base + ".csr");
  run("openssl x509 -req -in " + base + ".csr -CA " + ca_.cert + " -CAkey " + ca_.key +
      " -set_serial " + std::to_string(++serial_) + " -days 2 -extfile " + base + ".ext -out " +
      out.cert);
  return out;
}

CertFiles TestCa::server(const std::string& name, const std::vector<std::string>& ips,
                         const std::vector<std::string>& dns) {
  std::string san;
  for (const auto& ip : ips) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  for (const auto& d : dns) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  return issue(name,
               "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
               "extendedKeyUsage=serverAuth\nsubjectAltName=" +
                   san + "\n");
}

CertFiles TestCa::client(const std::string& name) {
  return issue(name,
               "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
               "extendedKeyUsage=clientAuth\n");
}

}  // namespace pb::testing
