// The one answer to "may this request read these stream addresses", for
// /events/{address}, the multiplexed /events?stream=... and
// GET /streams/{address} alike (docs/security.md).
//
// Per target, the stream's `auth` decides:
//   none      admitted; credentials are not even read;
//   required  a valid credential (a static token from auth.tokens, or a
//             JWT verified under auth.jwt) whose grants cover the address
//             (static tokens cover everything; a JWT its streams claim), and
//             whose claims satisfy the stream's `bind`;
//   upstream  admitted provisionally when the request carries at least one
//             of the stream's forward_headers; the caller admits it for real
//             only after the upstream answered 2xx for those values.
// A target without a stream (an address nothing serves) is judged by the
// default (`required` when auth: exists), so that the caller's 404 is only
// seen by those who could read it if it existed.
//
// The whole request is refused when any target is: 400 (conflicting
// credentials) before 401 (none, or not valid) before 403 (valid, but a
// target is not covered). Every refusal carries a WWW-Authenticate value
// (RFC 6750 §3: no error attribute when no credential was sent;
// invalid_request for 400, invalid_token for 401, insufficient_scope for
// 403) and a message for the body; neither ever holds the credential.
//
// Threads: immutable once built; every method from any thread. The caller
// keeps the current policy in a PolicyHolder and swaps it on reload.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/credential_source.h"
#include "auth/jwt_verifier.h"
#include "auth/key_set.h"
#include "auth/reason.h"
#include "auth/static_tokens.h"
#include "auth/stream_grants.h"
#include "config/config.h"

namespace pb::auth {

using Clock = std::chrono::system_clock;

// The realm of pollbridge's challenges.
constexpr const char* kRealm = "pollbridge";

// Who a valid credential belongs to.
struct Principal {
  enum class Kind { kStaticToken, kJwt } kind = Kind::kJwt;
  // For per-client limits and logs: the JWT's sub ("" when it has none),
  // or "tokens[N]" for the N-th static token (never the token itself).
  std::string subject;
  StreamGrants grants;
  std::shared_ptr<const nlohmann::json> claims;  // JWT only
  std::optional<Clock::time_point> expires;      // JWT: exp + leeway; static: never
  Source source = Source::kNone;
};

struct Authentication {
  int status = 401;  // 200, 400 or 401
  Reason reason = Reason::kMissing;
  std::optional<Principal> principal;  // set when status is 200
};

// One requested address.
struct Target {
  std::string address;                           // "orders", "customer/42"
  const config::StreamConfig* stream = nullptr;  // null: nothing serves it
  std::map<std::string, std::string> values;     // its parameter values
};

struct Decision {
  int status = 200;  // 200, 400, 401 or 403
  Reason reason = Reason::kOk;
  // For the WWW-Authenticate field of a refusal; empty when admitted.
  std::string www_authenticate;
  // For the error body of a refusal (may name a requested address).
  std::string message;
  // Set when a credential was checked and is valid.
  std::optional<Principal> principal;
  // When the admission ends: close the stream then (the token's expiry).
  std::optional<Clock::time_point> expires;
  // Indexes of the targets with auth: upstream: admitted only once their
  // upstream answers 2xx for the request's forwarded values.
  std::vector<std::size_t> upstream;

  bool allowed() const { return status == 200; }
};

class Policy {
 public:
  // A policy that admits every `none` target and has no credentials (no
  // auth: section).
  Policy() = default;
  // Builds the keys; throws KeyError when one cannot be (the caller keeps
  // its current policy).
  static std::shared_ptr<const Policy> from_config(const config::AuthConfig& cfg);
  // The same, judging each configured stream by the auth of `cfg.streams`
  // rather than by the stream config a target brings: during a reload the
  // policy is swapped before the streams, and a stream that the new file
  // protects is protected from that moment, while its old config still
  // serves (src/app/app.h).
  static std::shared_ptr<const Policy> from_config(const config::Config& cfg);

  // The request's credential, checked (not against any stream).
  Authentication authenticate(const RequestView& request, Clock::time_point now) const;

  // The decision for a request reading `targets` (all or nothing).
  Decision check(const RequestView& request, const std::vector<Target>& targets,
                 Clock::time_point now) const;
  Decision check(const RequestView& request, const std::vector<Target>& targets) const {
    return check(request, targets, Clock::now());
  }

  // The credential `token` (as find_credential() found it in a request),
  // checked under this policy (not against any stream); 401 missing when
  // this policy has no auth: section.
  Authentication authenticate_token(const std::string& token, Source source,
                                    Clock::time_point now) const;

  // The decision for a session admitted earlier (on reload: docs/security.md,
  // "Revocation"), whose credential is now `auth` (authenticate_token()
  // under this policy; a default Authentication when it presented none),
  // reading `targets` as they are now. The rules of check(), except that an
  // auth: upstream target stays admitted: its forwarded values were checked
  // at admission, and its upstream judges them on every poll.
  Decision recheck(const Authentication& auth, const std::vector<Target>& targets) const;

  // For GET /streams: whether a caller with `auth` (from authenticate(),
  // possibly a refusal: an anonymous caller) may see `target`. Streams with
  // auth: upstream hold per-user data and are never listed.
  bool may_list(const Authentication& auth, const Target& target) const;

  bool enabled() const { return enabled_; }
  // Names to strip (query) and read (cookie); empty when not configured.
  const std::string& query_param() const { return query_param_; }
  const std::string& cookie() const { return cookie_; }
  // The mode a target gets when it has no stream.
  config::AuthMode default_mode() const {
    return enabled_ ? config::AuthMode::kRequired : config::AuthMode::kNone;
  }

 private:
  Authentication verify_token(const std::string& token, Source source, Clock::time_point now) const;
  // check() and recheck(): `authenticate_fn` is called only when a target
  // needs a token; `upstream_ok` says whether an auth: upstream target may
  // go on to its upstream.
  // The access rules of `t`'s stream: this policy's copy when its config
  // names the stream, else the target's own; null when nothing serves it.
  const config::StreamAuth* stream_auth(const Target& t) const;
  config::AuthMode mode_of(const Target& t) const;
  Decision decide(const std::vector<Target>& targets,
                  const std::function<Authentication()>& authenticate_fn,
                  const std::function<bool(const Target&)>& upstream_ok) const;

  // Only what is needed: static tokens are kept as digests, secrets inside
  // the keys.
  bool enabled_ = false;
  std::string cookie_;
  std::string query_param_;
  std::string streams_claim_;
  std::shared_ptr<const KeySet> keys_ = std::make_shared<const KeySet>();
  StaticTokens tokens_;
  JwtRules rules_;
  std::map<std::string, config::StreamAuth> stream_auth_;  // by stream name
};

// The WWW-Authenticate value for a refusal with this status and reason.
std::string challenge(int status, Reason reason);

}  // namespace pb::auth
