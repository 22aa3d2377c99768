// Why a request was refused (or admitted): one code per rule, used as the
// `reason` label of pollbridge_auth_failures_total and in logs. Codes name
// the rule that failed, never anything the client sent.
//
// Pure; callable from any thread.
#pragma once

#include <cstddef>

namespace pb::auth {

enum class Reason {
  kOk,
  kMissing,                 // no credential where one is needed
  kConflict,                // two different credentials, or one repeated (400)
  kMalformed,               // not a compact JWS / bad base64url / bad JSON / bad claim types
  kTooLarge,                // over the size caps
  kAlgNotAllowed,           // alg unknown, none, or not the selected key's
  kUnsupportedHeader,       // crit, b64, zip, enc, cty, a typ that is not a JWT
  kUnknownKey,              // no configured key can check this token
  kBadSignature,            // the signature does not verify
  kUnknownToken,            // neither a static token nor a JWT that could be checked
  kMissingExpiry,           // exp absent
  kExpired,                 // now >= exp + leeway
  kNotYetValid,             // nbf, or iat, in the future beyond leeway
  kWrongIssuer,             // iss absent or not auth.jwt.issuer
  kWrongAudience,           // aud not one of auth.jwt.audience (or present when none is set)
  kForbiddenStream,         // a valid credential that does not cover a requested stream
  kClaimMismatch,           // a bound parameter does not equal its claim
  kMissingUpstreamHeaders,  // auth: upstream without any of its forward_headers
  kUpstreamRefused,         // auth: upstream, and the upstream answered 401/403
};

constexpr std::size_t kReasonCount = static_cast<std::size_t>(Reason::kUpstreamRefused) + 1;

// The label: "ok", "missing", "conflict", "malformed", "too_large",
// "alg_not_allowed", "unsupported_header", "unknown_key", "bad_signature",
// "unknown_token", "missing_exp", "expired", "not_yet_valid", "wrong_issuer",
// "wrong_audience", "forbidden_stream", "claim_mismatch",
// "missing_upstream_credentials", "upstream_refused".
const char* reason_name(Reason reason);

// A short sentence for error bodies and RFC 6750 error_description, e.g.
// "the token has expired". Never holds request data.
const char* reason_text(Reason reason);

}  // namespace pb::auth
