#include "cluster/script.h"

#include <openssl/sha.h>

namespace pb::cluster {

std::string sha1_hex(const std::string& bytes) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Script::Script(std::string n, std::string t)
    : name(std::move(n)), text(std::move(t)), sha1(sha1_hex(text)) {}

}  // namespace pb::cluster
