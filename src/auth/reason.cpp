#include "auth/reason.h"

namespace pb::auth {

const char* reason_name(Reason reason) {
  switch (reason) {
    case Reason::kOk:
      return "ok";
    case Reason::kMissing:
      return "missing";
    case Reason::kConflict:
      return "conflict";
    case Reason::kMalformed:
      return "malformed";
    case Reason::kTooLarge:
      return "too_large";
    case Reason::kAlgNotAllowed:
      return "alg_not_allowed";
    case Reason::kUnsupportedHeader:
      return "unsupported_header";
    case Reason::kUnknownKey:
      return "unknown_key";
    case Reason::kBadSignature:
      return "bad_signature";
    case Reason::kUnknownToken:
      return "unknown_token";
    case Reason::kMissingExpiry:
      return "missing_exp";
    case Reason::kExpired:
      return "expired";
    case Reason::kNotYetValid:
      return "not_yet_valid";
    case Reason::kWrongIssuer:
      return "wrong_issuer";
    case Reason::kWrongAudience:
      return "wrong_audience";
    case Reason::kForbiddenStream:
      return "forbidden_stream";
    case Reason::kClaimMismatch:
      return "claim_mismatch";
    case Reason::kMissingUpstreamHeaders:
      return "missing_upstream_credentials";
    case Reason::kUpstreamRefused:
      return "upstream_refused";
  }
  return "unknown";
}

const char* reason_text(Reason reason) {
  switch (reason) {
    case Reason::kOk:
      return "access granted";
    case Reason::kMissing:
      return "a bearer token is required";
    case Reason::kConflict:
      return "the request carries more than one different credential";
    case Reason::kMalformed:
      return "the token is malformed";
    case Reason::kTooLarge:
      return "the token is too large";
    case Reason::kAlgNotAllowed:
      return "the token's algorithm is not allowed for its key";
    case Reason::kUnsupportedHeader:
      return "the token's header uses an unsupported parameter";
    case Reason::kUnknownKey:
      return "the token is signed with an unknown key";
    case Reason::kBadSignature:
      return "the token's signature is invalid";
    case Reason::kUnknownToken:
      return "the token is not valid";
    case Reason::kMissingExpiry:
      return "the token has no expiry (exp)";
    case Reason::kExpired:
      return "the token has expired";
    case Reason::kNotYetValid:
      return "the token is not valid yet";
    case Reason::kWrongIssuer:
      return "the token's issuer is not accepted";
    case Reason::kWrongAudience:
      return "the token is not meant for this service";
    case Reason::kForbiddenStream:
      return "the token does not grant access to the requested stream";
    case Reason::kClaimMismatch:
      return "the token does not grant access to these parameter values";
    case Reason::kMissingUpstreamHeaders:
      return "the credentials this stream forwards upstream are missing";
    case Reason::kUpstreamRefused:
      return "the upstream refused the forwarded credentials";
  }
  return "access denied";
}

}  // namespace pb::auth
