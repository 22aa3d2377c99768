#include "log/private_id.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <stdexcept>

namespace pb::log {
namespace {

const std::array<unsigned char, 32>& process_key() {
  static const std::array<unsigned char, 32> key = [] {
    std::array<unsigned char, 32> k{};
    if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) {
      throw std::runtime_error("cannot draw the log's private id key");
    }
    return k;
  }();
  return key;
}

}  // namespace

std::string private_id(std::string_view text) {
  const auto& key = process_key();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), md, &len);
  std::string out = "u-";
  char hex[3];
  for (unsigned i = 0; i < 6 && i < len; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", md[i]);
    out += hex;
  }
  return out;
}

}  // namespace pb::log
