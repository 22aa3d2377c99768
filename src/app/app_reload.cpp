// App::reload: SIGHUP and POST /admin/reload (app.h says the order and why).
#include "app/app.h"
#include "config/keys.h"
#include "json/document.h"
#include "server/tls_context.h"
#include "upstream/startup_checks.h"

namespace pb::app {
namespace {

std::string listed(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& n : v) out += (out.empty() ? "" : ",") + n;
  return out.empty() ? std::string("-") : out;
}

ReloadAnswer rejected(const std::vector<std::string>& errors) {
  json::Json body = json::Json::object();
  body["reloaded"] = false;
  body["errors"] = errors;
  return {400, json::dump(body) + "\n"};
}

}  // namespace

ReloadAnswer App::reload() {
  MutexLock one_at_a_time(reload_mu_);
  // 1. Everything is read and checked before anything changes.
  config::Config next;
  std::vector<std::string> errors;
  if (!load(next, &errors)) {
    log::error("reload rejected, the running config stays", {{"config", path_}});
    return rejected(errors);
  }
  // The certificate is loaded again (rotation); one that does not load
  // rejects the whole reload and the running one stays.
  std::shared_ptr<server::TlsContext> tls_next;
  if (http_->tls_enabled() && next.server.tls.enabled()) {
    tls_next = server::TlsContext::load(next.server.tls, errors);
    if (!tls_next) {
      for (const auto& problem : errors) log::error(problem);
      log::error("reload rejected, the running config and certificate stay", {{"config", path_}});
      return rejected(errors);
    }
  }
  // The keys are read again (rotation); keys that do not build reject the
  // whole reload and the running policy stays.
  std::shared_ptr<const auth::Policy> next_policy;
  try {
    next_policy = auth::Policy::from_config(next);
  } catch (const std::exception& e) {
    log::error("reload rejected: cannot load the access keys", {{"error", e.what()}});
    return rejected({e.what()});
  }

  point("reload:checked");

  // 2. What changed, by key; restart keys keep their start-up values.
  const auto running = running_.get();
  const config::ConfigChanges changes = config::diff_config(*running, started_, next);
  auto in_force = std::make_shared<const config::Config>(config::in_force(started_, next));
  apply_log(*in_force);
  // 3. The policy before the streams: a stream that now needs a token is
  //    never served under the old, looser policy.
  policy_.set(next_policy);
  running_.set(in_force);
  point("reload:policy");
  upstream::log_upstream_settings(*in_force);
  upstream::ensure_descriptor_limit(*in_force);
  core::ReloadResult r = runtime_->reload(*in_force);
  point("reload:streams");
  // 4. Open sessions judged again under the new policy and streams: a
  //    revoked credential stops streaming now (docs/security.md).
  const std::size_t revoked = api_->recheck_sessions();
  point("reload:sessions");
  if (revoked != 0) {
    log::info("reload: sessions no longer admitted are closed", {{"sessions", revoked}});
  }
  if (tls_next) {
    http_->set_tls(tls_next);
    log::info("TLS certificate reloaded",
              {{"subject", tls_next->subject()}, {"not_after", tls_next->not_after()}});
  }
  log::info("config reloaded", {{"kept", listed(r.kept)},
                                {"changed", listed(r.changed)},
                                {"added", listed(r.added)},
                                {"removed", listed(r.removed)},
                                {"applied", listed(changes.live)},
                                {"needs_restart", listed(changes.needs_restart)}});
  json::Json body = json::Json::object();
  body["reloaded"] = true;
  body["kept"] = r.kept;
  body["changed"] = r.changed;
  body["added"] = r.added;
  body["removed"] = r.removed;
  body["applied"] = changes.live;
  body["needs_restart"] = changes.needs_restart;
  return {200, json::dump(body) + "\n"};
}

}  // namespace pb::app
