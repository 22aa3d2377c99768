#include "auth/policy.h"

#include <algorithm>

#include "auth/claim_binding.h"
#include "auth/forwarded_headers.h"

namespace pb::auth {
namespace {

int status_of(Reason reason) {
  switch (reason) {
    case Reason::kOk:
      return 200;
    case Reason::kConflict:
      return 400;
    case Reason::kForbiddenStream:
    case Reason::kClaimMismatch:
      return 403;
    default:
      return 401;
  }
}

// How bad a refusal is: the worst of a request's targets is answered.
int rank(int status) {
  switch (status) {
    case 400:
      return 3;
    case 401:
      return 2;
    case 403:
      return 1;
    default:
      return 0;
  }
}

}  // namespace

std::string challenge(int status, Reason reason) {
  std::string out = std::string("Bearer realm=\"") + kRealm + "\"";
  const char* error = nullptr;
  if (status == 400) {
    error = "invalid_request";
  } else if (status == 403) {
    error = "insufficient_scope";
  } else if (status == 401 && reason != Reason::kMissing &&
             reason != Reason::kMissingUpstreamHeaders) {
    error = "invalid_token";
  }
  if (error != nullptr) {
    // reason_text() is fixed text without quotes or backslashes.
    out +=
        std::string(", error=\"") + error + "\", error_description=\"" + reason_text(reason) + "\"";
  }
  return out;
}

std::shared_ptr<const Policy> Policy::from_config(const config::Config& cfg) {
  auto base = from_config(cfg.auth);
  auto p = std::make_shared<Policy>(*base);
  for (const auto& s : cfg.streams) p->stream_auth_.emplace(s.name, s.auth);
  return p;
}

const config::StreamAuth* Policy::stream_auth(const Target& t) const {
  if (t.stream == nullptr) return nullptr;
  auto it = stream_auth_.find(t.stream->name);
  return it != stream_auth_.end() ? &it->second : &t.stream->auth;
}

config::AuthMode Policy::mode_of(const Target& t) const {
  const config::StreamAuth* a = stream_auth(t);
  return a != nullptr ? a->mode : default_mode();
}

std::shared_ptr<const Policy> Policy::from_config(const config::AuthConfig& cfg) {
  auto p = std::make_shared<Policy>();
  p->enabled_ = cfg.enabled;
  p->cookie_ = cfg.cookie;
  p->query_param_ = cfg.query_param;
  p->streams_claim_ = cfg.jwt.streams_claim;
  p->keys_ = KeySet::from_config(cfg.jwt);
  p->tokens_ = StaticTokens(cfg.tokens);
  p->rules_.issuer = cfg.jwt.issuer;
  p->rules_.audience = cfg.jwt.audience;
  p->rules_.leeway = cfg.jwt.leeway;
  return p;
}

Authentication Policy::verify_token(const std::string& token, Source source,
                                    Clock::time_point now) const {
  Authentication out;
  if (auto index = tokens_.match(token)) {
    Principal p;
    p.kind = Principal::Kind::kStaticToken;
    p.subject = "tokens[" + std::to_string(*index) + "]";
    p.grants = StreamGrants::all();
    p.source = source;
    out.status = 200;
    out.reason = Reason::kOk;
    out.principal = std::move(p);
    return out;
  }
  if (keys_->empty()) {
    out.reason = Reason::kUnknownToken;
    out.status = 401;
    return out;
  }
  JwtResult r = verify_jwt(token, *keys_, rules_, now);
  if (r.reason != Reason::kOk) {
    // Without JWT keys this was a static token that matched none; with
    // them, a string that is not even shaped like a JWT is unknown too.
    out.reason = r.reason == Reason::kMalformed && token.find('.') == std::string::npos
                     ? Reason::kUnknownToken
                     : r.reason;
    out.status = 401;
    return out;
  }
  Principal p;
  p.kind = Principal::Kind::kJwt;
  p.subject = r.jwt->subject.value_or("");
  p.claims = r.jwt->claims;
  auto claim = p.claims->find(streams_claim_);
  p.grants = StreamGrants::from_claim(claim == p.claims->end() ? nullptr : &*claim);
  p.expires = r.jwt->expires;
  p.source = source;
  out.status = 200;
  out.reason = Reason::kOk;
  out.principal = std::move(p);
  return out;
}

Authentication Policy::authenticate(const RequestView& request, Clock::time_point now) const {
  Authentication out;
  if (!enabled_) return out;  // 401 missing: nothing can be valid
  Credential c = find_credential(request, cookie_);
  if (c.reason != Reason::kOk) {
    out.reason = c.reason;
    out.status = status_of(c.reason);
    return out;
  }
  return verify_token(c.token, c.source, now);
}

Decision Policy::check(const RequestView& request, const std::vector<Target>& targets,
                       Clock::time_point now) const {
  return decide(
      targets, [&] { return authenticate(request, now); },
      [&](const Target& t) {
        return t.stream != nullptr && !forwarded_values(request, *t.stream, cookie_).empty();
      });
}

Authentication Policy::authenticate_token(const std::string& token, Source source,
                                          Clock::time_point now) const {
  Authentication out;
  if (!enabled_) return out;  // 401 missing: nothing can be valid
  return verify_token(token, source, now);
}

Decision Policy::recheck(const Authentication& auth, const std::vector<Target>& targets) const {
  // An auth: upstream target was admitted with the request's forwarded
  // values; the stream (and with it this mode) has not changed, or its
  // sessions would have been retired, and its upstream judges those values
  // on every poll.
  return decide(
      targets, [&] { return auth; }, [](const Target& t) { return t.stream != nullptr; });
}

Decision Policy::decide(const std::vector<Target>& targets,
                        const std::function<Authentication()>& authenticate_fn,
                        const std::function<bool(const Target&)>& upstream_ok) const {
  Decision d;
  const bool needs_token = std::any_of(targets.begin(), targets.end(), [&](const Target& t) {
    return mode_of(t) == config::AuthMode::kRequired;
  });
  std::optional<Authentication> auth;
  if (needs_token) auth = authenticate_fn();

  auto refuse = [&](Reason reason, std::string message) {
    const int status = status_of(reason);
    if (rank(status) <= rank(d.status)) return;
    d.status = status;
    d.reason = reason;
    d.message = std::move(message);
  };
  if (auth && auth->status != 200) refuse(auth->reason, reason_text(auth->reason));

  for (std::size_t i = 0; i < targets.size(); ++i) {
    const Target& t = targets[i];
    switch (mode_of(t)) {
      case config::AuthMode::kNone:
        break;
      case config::AuthMode::kRequired: {
        if (!auth || !auth->principal) break;  // refused above
        const Principal& p = *auth->principal;
        if (!p.grants.covers(t.address)) {
          refuse(Reason::kForbiddenStream,
                 "the token does not grant access to stream \"" + t.address + "\"");
        } else if (const config::StreamAuth* a = stream_auth(t);
                   a != nullptr && !a->bind.empty() && p.kind == Principal::Kind::kJwt &&
                   !bindings_hold(a->bind, t.values, *p.claims)) {
          refuse(Reason::kClaimMismatch,
                 "the token does not grant access to stream \"" + t.address + "\"");
        }
        break;
      }
      case config::AuthMode::kUpstream:
        if (!upstream_ok(t)) {
          refuse(Reason::kMissingUpstreamHeaders, reason_text(Reason::kMissingUpstreamHeaders));
        } else {
          d.upstream.push_back(i);
        }
        break;
    }
  }
  if (d.status != 200) {
    d.www_authenticate = challenge(d.status, d.reason);
    d.upstream.clear();
    return d;
  }
  if (auth && auth->principal) {
    d.expires = auth->principal->expires;
    d.principal = std::move(auth->principal);
  }
  d.message = reason_text(Reason::kOk);
  return d;
}

bool Policy::may_list(const Authentication& auth, const Target& target) const {
  switch (mode_of(target)) {
    case config::AuthMode::kNone:
      return true;
    case config::AuthMode::kUpstream:
      return false;
    case config::AuthMode::kRequired:
      break;
  }
  if (auth.status != 200 || !auth.principal) return false;
  const Principal& p = *auth.principal;
  if (!p.grants.covers(target.address)) return false;
  const config::StreamAuth* a = stream_auth(target);
  if (a != nullptr && !a->bind.empty() && p.kind == Principal::Kind::kJwt) {
    return bindings_hold(a->bind, target.values, *p.claims);
  }
  return true;
}

}  // namespace pb::auth
