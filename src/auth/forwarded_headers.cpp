#include "auth/forwarded_headers.h"
#include "common/ascii.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace pb::auth {
namespace {

void append_length_prefixed(std::string& out, std::string_view s) {
  const std::uint64_t n = s.size();
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out.append(s);
}

}  // namespace

HeaderList forwarded_values(const RequestView& request, const config::StreamConfig& stream,
                            std::string_view token_cookie) {
  HeaderList out;
  for (const auto& wanted : stream.auth.forward_headers) {
    const bool is_cookie = iequals(wanted, "cookie");
    std::string joined;
    for (const auto& [name, raw] : request.headers) {
      if (!iequals(name, wanted)) continue;
      std::string value = is_cookie && !token_cookie.empty() ? strip_cookie(raw, token_cookie)
                                                             : std::string(trim_ows(raw));
      if (value.empty()) continue;
      if (!joined.empty()) joined += is_cookie ? "; " : ", ";
      joined += value;
    }
    if (!joined.empty()) out.emplace_back(wanted, std::move(joined));
  }
  return out;
}

std::string forwarded_digest(const HeaderList& values, std::string_view key) {
  std::string encoded;
  for (const auto& [name, value] : values) {
    append_length_prefixed(encoded, name);
    append_length_prefixed(encoded, value);
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(encoded.data()), encoded.size(), mac, &len);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0xf]);
  }
  return hex;
}

}  // namespace pb::auth
