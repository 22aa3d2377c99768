#include "server/access.h"

#include <thread>
#include <unordered_map>

#include "auth/forwarded_headers.h"
#include "auth/token_time.h"
#include "server/api.h"
#include "server/http_server.h"

namespace pb::server {

Access::Access(core::Runtime& runtime, const auth::PolicyHolder& policy, unsigned ipv6_prefix)
    : runtime_(runtime), policy_(policy), ipv6_prefix_(ipv6_prefix) {
  admissions_.on_revoked([&hub = runtime_.hub()] { hub.close_revoked(); });
}

std::optional<Access::Admitted> Access::admit(const httplib::Request& req,
                                              const std::vector<std::string>& addresses,
                                              bool create, httplib::Response& res) {
  // Read before the policy (server/admissions.h: races with a reload).
  const std::uint64_t generation = admissions_.generation();
  std::shared_ptr<const auth::Policy> policy = policy_.get();
  const auth::RequestView view =
      auth::RequestView::of(req.headers, HttpServer::query_credentials());
  // The matches keep their templates (and so the stream configs the
  // targets point to) alive until the decision is made.
  std::vector<core::Runtime::Match> matches;
  matches.reserve(addresses.size());
  std::vector<auth::Target> targets;
  for (const auto& address : addresses) {
    matches.push_back(runtime_.match(address));
    const auto& m = matches.back();
    auth::Target t;
    t.address = address;
    t.stream = m.tmpl ? &m.tmpl->cfg : nullptr;
    t.values = m.values;
    targets.push_back(std::move(t));
  }
  auth::Decision d = policy->check(view, targets);
  if (!d.allowed()) {
    failures_.count(d.reason);
    res.set_header("WWW-Authenticate", d.www_authenticate);
    set_error(res, d.status, d.message);
    return std::nullopt;
  }
  Admitted out;
  std::string owner = core::address_owner(req.remote_addr, ipv6_prefix_);
  if (d.principal && !d.principal->subject.empty()) {
    owner = core::kSubjectOwnerPrefix + d.principal->subject;
  }
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    core::InstanceRequest r;
    r.address = addresses[i];
    r.create = create;
    r.owner = owner;
    const config::StreamConfig* cfg = targets[i].stream;
    bool upstream = false, private_data = false;
    if (cfg != nullptr) {
      r.per_user = !cfg->auth.forward_headers.empty();
      if (r.per_user) r.forwarded = auth::forwarded_values(view, *cfg, policy->cookie());
      upstream = cfg->auth.mode == config::AuthMode::kUpstream;
      private_data = r.per_user || cfg->auth.mode != config::AuthMode::kNone;
    }
    out.requests.push_back(std::move(r));
    out.upstream.push_back(upstream);
    out.private_data.push_back(private_data);
  }
  out.admission = std::make_shared<Admission>();
  out.admission->generation = generation;
  out.admission->addresses = addresses;
  if (d.principal) {
    // The credential that was checked (the same find_credential() call the
    // policy made), kept in memory for the re-checks.
    auth::Credential c = auth::find_credential(view, policy->cookie());
    out.admission->has_credential = c.reason == auth::Reason::kOk;
    out.admission->token = std::move(c.token);
    out.admission->source = c.source;
  }
  if (d.expires) {
    // Clamped: a token valid past what the steady clock holds never closes.
    out.close_at = auth::steady_deadline(*d.expires, auth::Clock::now(), hub::SteadyClock::now());
  }
  return out;
}

struct Access::RecheckCache {
  auth::Clock::time_point now = auth::Clock::now();
  std::unordered_map<std::string, auth::Authentication> tokens;
  std::unordered_map<std::string, core::Runtime::Match> addresses;
};

bool Access::still_admitted(const auth::Policy& policy, const Admission& a,
                            RecheckCache& cache) const {
  std::vector<auth::Target> targets;
  targets.reserve(a.addresses.size());
  for (const auto& address : a.addresses) {
    auto m = cache.addresses.find(address);
    if (m == cache.addresses.end())
      m = cache.addresses.emplace(address, runtime_.match(address)).first;
    auth::Target t;
    t.address = address;
    t.stream = m->second.tmpl ? &m->second.tmpl->cfg : nullptr;
    t.values = m->second.values;
    targets.push_back(std::move(t));
  }
  auth::Authentication none;
  const auth::Authentication* who = &none;
  if (a.has_credential) {
    auto it = cache.tokens.find(a.token);
    if (it == cache.tokens.end()) {
      it = cache.tokens.emplace(a.token, policy.authenticate_token(a.token, a.source, cache.now))
               .first;
    }
    who = &it->second;
  }
  return policy.recheck(*who, targets).allowed();
}

void Access::track(const std::shared_ptr<Admission>& admission) {
  if (!admission || admissions_.add(admission)) return;
  // A reload re-checked the open sessions since this one was decided.
  RecheckCache cache;
  if (!still_admitted(*policy_.get(), *admission, cache)) admission->revoke();
}

std::size_t Access::recheck_sessions() {
  std::vector<std::shared_ptr<Admission>> open = admissions_.begin_recheck();
  std::shared_ptr<const auth::Policy> policy = policy_.get();
  RecheckCache cache;
  std::size_t revoked = 0;
  for (const auto& a : open) {
    if (a->revoked() || still_admitted(*policy, *a, cache)) continue;
    a->revoke();
    ++revoked;
  }
  if (revoked != 0) admissions_.notify_revoked();
  return revoked;
}

bool Access::upstream_admits(const std::shared_ptr<core::Instance>& inst, httplib::Response& res) {
  // Read before the status: an outcome applied after it wakes the wait.
  const std::uint64_t seen = inst->stream().outcomes();
  stream::Status st = inst->stream().status();
  const bool refused = !st.ok && (st.http_status == 401 || st.http_status == 403);
  if (refused) {
    failures_.count(auth::Reason::kUpstreamRefused);
    if (st.http_status == 401) {
      res.set_header("WWW-Authenticate",
                     std::string("Bearer realm=\"") + auth::kRealm + "\", error=\"invalid_token\"");
    }
    set_error(res, st.http_status, "the upstream refused these credentials");
    return false;
  }
  // Admitted once these very values got a 2xx (this poll or an earlier
  // one: a later failure other than 401/403 is only a stale stream).
  if (st.polled && st.last_success.time_since_epoch().count() != 0) return true;
  const auto now = hub::SteadyClock::now();
  const auto deadline =
      HttpServer::admission_deadline().value_or(now + inst->cfg().timeout + kUpstreamAdmitSlack);
  if (now < deadline) {
    // Ready when the next outcome is in, or when the instance is being
    // replaced (the next run finds its successor). Called on the loop
    // thread every few milliseconds: two atomic loads.
    auto ready = [inst, seen] {
      return inst->stream().outcomes() != seen || inst->retiring().load(std::memory_order_relaxed);
    };
    if (HttpServer::park(std::move(ready), deadline)) return false;
  }
  res.set_header("Retry-After", "5");
  set_error(res, 503, "the upstream has not accepted these credentials yet; retry");
  return false;
}

auth::Authentication Access::authenticate(const httplib::Request& req) const {
  std::shared_ptr<const auth::Policy> policy = policy_.get();
  return policy->authenticate(auth::RequestView::of(req.headers, HttpServer::query_credentials()),
                              auth::Clock::now());
}

bool Access::visible(const auth::Authentication& who, core::Instance& inst) const {
  if (inst.per_user()) return false;
  auth::Target t;
  t.address = inst.address();
  t.stream = &inst.tmpl().cfg;
  // Its parameter values, for claim binding (an instance was made from a
  // valid match, so this one is too).
  if (inst.tmpl().parameterized()) t.values = runtime_.match(inst.address()).values;
  return policy_.get()->may_list(who, t);
}

}  // namespace pb::server
