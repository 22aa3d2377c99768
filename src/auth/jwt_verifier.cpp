#include "auth/jwt_verifier.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "auth/base64url.h"
#include "auth/strict_json.h"
#include "auth/token_time.h"
#include "common/ascii.h"

namespace pb::auth {
namespace {

using nlohmann::json;
using Ms = std::chrono::milliseconds;

JwtResult refuse(Reason reason) {
  return JwtResult{reason, std::nullopt};
}

// RFC 7515 §4.1.9: a media type, "application/" optional, compared without
// case. JWT (RFC 7519 §5.1) and at+jwt (RFC 9068) are access-token types;
// others (secevent+jwt, logout+jwt, dpop+jwt, ...) are different kinds of
// JWT that must not be accepted as credentials here (RFC 8725 §3.11).
bool accepted_typ(std::string_view typ) {
  std::string t = lowercase(typ);
  if (t.rfind("application/", 0) == 0) t = t.substr(12);
  return t == "jwt" || t == "at+jwt";
}

enum class DateStatus { kAbsent, kBad, kOk };

// A NumericDate member (RFC 7519 §2): a JSON number of seconds since the
// epoch, fractions allowed; in milliseconds, floored.
DateStatus numeric_date(const json& claims, const char* name, std::int64_t& out_ms) {
  auto it = claims.find(name);
  if (it == claims.end()) return DateStatus::kAbsent;
  const json& v = *it;
  if (v.is_number_unsigned()) {
    const auto s = v.get<std::uint64_t>();
    if (s > static_cast<std::uint64_t>(kMaxNumericDate)) return DateStatus::kBad;
    out_ms = static_cast<std::int64_t>(s) * 1000;
    return DateStatus::kOk;
  }
  if (v.is_number_integer()) {
    const auto s = v.get<std::int64_t>();
    if (s < 0 || s > kMaxNumericDate) return DateStatus::kBad;
    out_ms = s * 1000;
    return DateStatus::kOk;
  }
  if (v.is_number_float()) {
    const double s = v.get<double>();
    if (!std::isfinite(s) || s < 0 || s > static_cast<double>(kMaxNumericDate)) {
      return DateStatus::kBad;
    }
    out_ms = static_cast<std::int64_t>(std::floor(s * 1000.0));
    return DateStatus::kOk;
  }
  return DateStatus::kBad;  // strings, booleans, null, objects, arrays
}

// The header members checked before any key is chosen.
Reason check_header(const json& header, std::optional<crypto::Alg>& alg,
                    std::optional<std::string>& kid) {
  auto a = header.find("alg");
  if (a == header.end() || !a->is_string()) return Reason::kMalformed;
  // Parameters that change how the token must be processed (RFC 7515
  // §4.1.11 crit, RFC 7797 b64), or that belong to JWE (zip, enc), or nest
  // a token (cty): none is supported, so none is ignored.
  for (const char* name : {"crit", "b64", "zip", "enc", "cty"}) {
    if (header.contains(name)) return Reason::kUnsupportedHeader;
  }
  if (auto t = header.find("typ"); t != header.end()) {
    if (!t->is_string()) return Reason::kMalformed;
    if (!accepted_typ(t->get_ref<const std::string&>())) return Reason::kUnsupportedHeader;
  }
  if (auto k = header.find("kid"); k != header.end()) {
    if (!k->is_string()) return Reason::kMalformed;
    kid = k->get<std::string>();
  }
  alg = crypto::alg_from_name(a->get_ref<const std::string&>());
  if (!alg) return Reason::kAlgNotAllowed;  // "none" in any case, and everything unknown
  return Reason::kOk;
}

bool audience_matches(const json& aud, const std::vector<std::string>& accepted, bool& malformed) {
  auto one = [&](const json& v) {
    return std::find(accepted.begin(), accepted.end(), v.get_ref<const std::string&>()) !=
           accepted.end();
  };
  if (aud.is_string()) return one(aud);
  if (!aud.is_array()) {
    malformed = true;
    return false;
  }
  bool found = false;
  for (const json& v : aud) {
    if (!v.is_string()) {
      malformed = true;
      return false;
    }
    found = found || one(v);
  }
  return found;
}

}  // namespace

JwtResult verify_jwt(std::string_view token, const KeySet& keys, const JwtRules& rules,
                     std::chrono::system_clock::time_point now) {
  if (token.size() > kMaxTokenBytes) return refuse(Reason::kTooLarge);
  const std::size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return refuse(Reason::kMalformed);
  const std::size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return refuse(Reason::kMalformed);  // not three parts (a JWE has five)
  }
  const std::string_view header_part = token.substr(0, dot1);
  const std::string_view payload_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_part = token.substr(dot2 + 1);
  if (header_part.empty() || payload_part.empty()) {
    return refuse(Reason::kMalformed);  // no detached (RFC 7797) or empty parts
  }
  if (header_part.size() > kMaxHeaderChars || signature_part.size() > kMaxSignatureChars) {
    return refuse(Reason::kTooLarge);
  }

  std::string header_text;
  if (!decode_base64url(header_part, header_text)) return refuse(Reason::kMalformed);
  const auto header = parse_strict_object(header_text);
  if (!header) return refuse(Reason::kMalformed);
  std::optional<crypto::Alg> alg;
  std::optional<std::string> kid;
  if (Reason r = check_header(*header, alg, kid); r != Reason::kOk) return refuse(r);
  // An unsecured JWT ("alg":"none", empty signature) was refused above by
  // its alg; any other empty signature is malformed.
  if (signature_part.empty()) return refuse(Reason::kMalformed);

  const KeySet::Candidates candidates = keys.select(*alg, kid);
  if (candidates.alg_refused) return refuse(Reason::kAlgNotAllowed);
  if (candidates.keys.empty()) {
    // No key at all for this algorithm is the algorithm being refused (an
    // HS256 token where only RS256 keys are configured); keys of this
    // algorithm that the kid rules exclude make the key unknown.
    return refuse(keys.has_alg(*alg) ? Reason::kUnknownKey : Reason::kAlgNotAllowed);
  }

  // Both remaining parts must be canonical base64url before any key is
  // used; the payload's JSON is read only once the signature holds.
  std::string payload_text;
  if (!decode_base64url(payload_part, payload_text)) return refuse(Reason::kMalformed);
  std::string signature;
  if (!decode_base64url(signature_part, signature)) return refuse(Reason::kMalformed);
  const std::string_view signing_input = token.substr(0, dot2);
  const crypto::Key* verified_by = nullptr;
  for (const crypto::Key* k : candidates.keys) {
    if (k->verify(signing_input, signature)) {
      verified_by = k;
      break;
    }
  }
  if (verified_by == nullptr) return refuse(Reason::kBadSignature);

  // Only now is the payload's content looked at.
  auto claims = parse_strict_object(payload_text);
  if (!claims) return refuse(Reason::kMalformed);

  const std::int64_t now_ms = std::chrono::duration_cast<Ms>(now.time_since_epoch()).count();
  const std::int64_t leeway_ms = rules.leeway.count();
  std::int64_t exp = 0;
  std::int64_t nbf = 0;
  std::int64_t iat = 0;
  const DateStatus exp_status = numeric_date(*claims, "exp", exp);
  const DateStatus nbf_status = numeric_date(*claims, "nbf", nbf);
  const DateStatus iat_status = numeric_date(*claims, "iat", iat);
  if (exp_status == DateStatus::kBad || nbf_status == DateStatus::kBad ||
      iat_status == DateStatus::kBad) {
    return refuse(Reason::kMalformed);
  }
  if (exp_status == DateStatus::kAbsent) return refuse(Reason::kMissingExpiry);
  if (iat_status == DateStatus::kOk && iat > exp) return refuse(Reason::kMalformed);
  if (now_ms >= exp + leeway_ms) return refuse(Reason::kExpired);
  if (nbf_status == DateStatus::kOk && nbf > now_ms + leeway_ms) {
    return refuse(Reason::kNotYetValid);
  }
  if (iat_status == DateStatus::kOk && iat > now_ms + leeway_ms) {
    return refuse(Reason::kNotYetValid);
  }

  if (!rules.issuer.empty()) {
    auto iss = claims->find("iss");
    if (iss == claims->end() || !iss->is_string() ||
        iss->get_ref<const std::string&>() != rules.issuer) {
      return refuse(Reason::kWrongIssuer);
    }
  }
  if (auto aud = claims->find("aud"); aud != claims->end()) {
    bool malformed = false;
    const bool ok = !rules.audience.empty() && audience_matches(*aud, rules.audience, malformed);
    if (malformed) return refuse(Reason::kMalformed);
    if (!ok) return refuse(Reason::kWrongAudience);
  } else if (!rules.audience.empty()) {
    return refuse(Reason::kWrongAudience);
  }
  std::optional<std::string> subject;
  if (auto sub = claims->find("sub"); sub != claims->end()) {
    if (!sub->is_string()) return refuse(Reason::kMalformed);
    subject = sub->get<std::string>();
  }

  VerifiedJwt out;
  out.subject = std::move(subject);
  // Clamped: an exp past what the clock holds (year 2262) is "never".
  out.expires = system_time_from_ms(exp + leeway_ms);
  out.key = verified_by;
  out.claims = std::make_shared<const json>(std::move(*claims));
  return JwtResult{Reason::kOk, std::move(out)};
}

}  // namespace pb::auth
