// The access check of every read of stream data (docs/security.md):
// /events/{address}, /events?stream=... and GET /streams/{address} call
// admit() before any instance is looked up or made, so that a client without
// access creates nothing; GET /streams asks visible() per instance.
//
// admit() builds one auth::Target per address (its stream and parameter
// values, matched without making anything), asks the policy in force, and
// either fills the refusal (status, WWW-Authenticate, a body that never holds
// the credential; the reason counted for /metrics) or says how to look the
// instances up: per-user streams (forward_headers) with the client's own
// forwarded values, on behalf of an owner (the token's subject, else the
// client's address, an IPv6 one by its server.ipv6_prefix) for
// max_instances_per_client, and until when the connection may stay open (the
// token's expiry).
//
// upstream_admits() never blocks: an admission still waiting for its
// upstream parks the connection on the front door's loop (no thread while
// it waits) and the request runs again once the instance's poll has an
// outcome.
//
// Every open SSE session's admission is kept (server/admissions.h); on
// reload, recheck_sessions() decides each again under the new policy and
// the hub closes those no longer admitted (docs/security.md, "Revocation").
//
// Threads: the HTTP workers, concurrently (the policy is swapped whole on
// reload; each request keeps the one it started with); recheck_sessions()
// from the reloading thread.
#pragma once

#include <httplib.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/failure_counters.h"
#include "auth/policy_holder.h"
#include "core/runtime.h"
#include "hub/hub.h"
#include "server/admissions.h"

namespace pb::server {

// How long a client of an auth: upstream stream waits for the upstream's
// first answer to its credentials, beyond the stream's timeout.
constexpr std::chrono::milliseconds kUpstreamAdmitSlack{1000};

class Access {
 public:
  Access(core::Runtime& runtime, const auth::PolicyHolder& policy, unsigned ipv6_prefix);

  struct Admitted {
    std::vector<core::InstanceRequest> requests;  // one per address, in order
    std::vector<bool> upstream;                   // per address: auth: upstream
    std::vector<bool> private_data;               // per address: not for shared caches
    hub::SteadyClock::time_point close_at = hub::SteadyClock::time_point::max();
    // What to decide again on reload, for a session: pass it to track().
    std::shared_ptr<Admission> admission;
  };

  // Whether `req` may read every one of `addresses` (all or nothing). A
  // refusal fills `res` and returns nothing.
  std::optional<Admitted> admit(const httplib::Request& req,
                                const std::vector<std::string>& addresses, bool create,
                                httplib::Response& res);

  // Registers an SSE session's admission for the re-checks of later
  // reloads (before it is attached). Should a reload have re-checked the
  // open sessions since admit(), it is judged now, and marked revoked when
  // the new policy refuses it (the hub then closes it).
  void track(const std::shared_ptr<Admission>& admission);

  // After a reload installed its policy and streams: decides every open
  // session's admission again and marks those no longer admitted; the hub
  // closes them (reason `revoked`). Returns how many were revoked. JWTs are
  // verified here, on the calling thread, once per distinct token; the hub
  // threads only close what is marked.
  std::size_t recheck_sessions();

  // For an instance of an auth: upstream stream: whether its upstream
  // answered these credentials with a 2xx (now or earlier): true. Otherwise
  // false, and either `res` is filled (the upstream's 401/403 as the same
  // status, never a document; 503 with Retry-After when no 2xx came within
  // the stream's timeout plus kUpstreamAdmitSlack of the first try) or the
  // connection was parked (HttpServer::park): the request runs again when
  // the instance's next poll outcome is in, and what the handler writes now
  // is dropped. Never blocks.
  bool upstream_admits(const std::shared_ptr<core::Instance>& inst, httplib::Response& res);

  // For GET /streams: the caller's credential, checked once ...
  auth::Authentication authenticate(const httplib::Request& req) const;
  // ... and whether it may see `inst` in the listing. Per-user instances
  // are never listed.
  bool visible(const auth::Authentication& who, core::Instance& inst) const;

  void write_metrics(std::string& out) const { failures_.write_prometheus(out); }
  const auth::FailureCounters& failures() const { return failures_; }

 private:
  // Whether `a` is still admitted under `policy` (caches: per token, per
  // address, for one re-check).
  struct RecheckCache;
  bool still_admitted(const auth::Policy& policy, const Admission& a, RecheckCache& cache) const;

  core::Runtime& runtime_;
  const auth::PolicyHolder& policy_;
  const unsigned ipv6_prefix_;  // server.ipv6_prefix: anonymous owners by prefix
  auth::FailureCounters failures_;
  Admissions admissions_;
};

}  // namespace pb::server
