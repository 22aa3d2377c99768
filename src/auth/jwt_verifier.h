// Verification of a JWT (RFC 7519) in JWS compact serialization (RFC 7515
// §7.1), following RFC 8725. The rules, each refused with its own reason:
//
//  * size: at most kMaxTokenBytes in all, kMaxHeaderChars of header and
//    kMaxSignatureChars of signature (checked before anything is decoded);
//  * shape: exactly three parts, each strict unpadded base64url; no JWE (five
//    parts), no unencoded or detached payload (RFC 7797);
//  * header: one JSON object without duplicate members; `alg` a string naming
//    a supported algorithm exactly ("none", "None" are not); `kid` a string
//    when present; `crit`, `b64`, `zip`, `enc` and `cty` refused; `typ`, when
//    present, "JWT" or "at+jwt" (RFC 8725 §3.11, case-insensitive, with or
//    without "application/"); jku, jwk, x5u, x5c are never used (keys come
//    from the config only, RFC 8725 §3.10);
//  * key: chosen by KeySet::select; the header's alg must be the key's;
//  * signature: checked before the payload's JSON is read;
//  * claims: one JSON object without duplicate members; `exp` required and
//    `nbf`, `iat` optional, each a JSON number (NumericDate, fractions
//    allowed) from 0 to year 9999; now < exp + leeway; nbf <= now + leeway;
//    iat <= now + leeway and iat <= exp; `iss` equal to the configured
//    issuer when one is set; `aud` (a string or an array of strings) holding
//    one of the configured audiences, and refused when present while none is
//    configured (RFC 7519 §4.1.3); `sub` a string when present.
//
// Why not Debian's libcpp-jwt-dev (cpp-jwt 1.4), checked against these rules:
// it compares HMAC signatures with string equality (not constant time), does
// not require `exp`, reads `aud` only as a string (an array is a type error,
// so array audiences cannot match), computes `nbf - leeway` in unsigned
// arithmetic (wraps for small values), matches `alg` case-insensitively
// ("NONE" is its none), decodes base64url leniently (invalid characters end
// the input silently), keeps the last of duplicate JSON members, ignores
// `crit`, has no kid-to-key binding (one key per decode call), parses the PEM
// again on every verification, and uses EC_KEY functions deprecated in
// OpenSSL 3 (errors under -Werror). Wrapping it would mean re-checking every
// rule above around it, so pollbridge verifies with OpenSSL's EVP directly.
//
// Pure apart from OpenSSL; callable from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/key_set.h"
#include "auth/reason.h"

namespace pb::auth {

// Longest token accepted, in bytes: far above what an IdP issues (1-2 KiB)
// and within a cookie (4 KiB per cookie in browsers, RFC 6265 §6.1) and a URL.
constexpr std::size_t kMaxTokenBytes = 8192;
// Longest encoded JOSE header: alg, kid, typ and a few more fit in 200.
constexpr std::size_t kMaxHeaderChars = 1024;
// Longest encoded signature: an RSA-8192 signature (1024 bytes).
constexpr std::size_t kMaxSignatureChars = 1366;
// Largest NumericDate accepted (9999-12-31T23:59:59Z), in seconds.
constexpr std::int64_t kMaxNumericDate = 253402300799;

struct JwtRules {
  std::string issuer;                 // empty: iss not checked
  std::vector<std::string> audience;  // empty: a token with aud is refused
  std::chrono::milliseconds leeway{0};
};

struct VerifiedJwt {
  std::shared_ptr<const nlohmann::json> claims;  // the whole claims set
  std::optional<std::string> subject;            // sub
  // exp + leeway, clamped to what the clock holds (auth/token_time.h).
  std::chrono::system_clock::time_point expires;
  const crypto::Key* key = nullptr;  // the key that verified it
};

struct JwtResult {
  Reason reason = Reason::kMalformed;  // kOk when verified
  std::optional<VerifiedJwt> jwt;
};

JwtResult verify_jwt(std::string_view token, const KeySet& keys, const JwtRules& rules,
                     std::chrono::system_clock::time_point now);

}  // namespace pb::auth
