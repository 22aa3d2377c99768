#include "cluster/script.h"

#include <openssl/sha.h>

namespace pb::cluster {

Script::Script(std::string n, std::string t) : name(std::move(n)), text(std::move(t)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char b : digest) {
    sha1 += kHex[b >> 4];
    sha1 += kHex[b & 15];
  }
}

}  // namespace pb::cluster
