// Runtime::reload: applying a new config's streams to the running proxy.
#include <algorithm>

#include "core/runtime.h"
#include "log/log.h"

namespace pb::core {
namespace {

bool same_stream(const config::StreamConfig& a, const config::StreamConfig& b) {
  return a.name == b.name && a.url == b.url && a.path == b.path && a.params == b.params &&
         a.max_instances == b.max_instances && a.interval == b.interval && a.timeout == b.timeout &&
         a.method == b.method && a.body == b.body && a.content_type == b.content_type &&
         a.headers == b.headers && a.diff == b.diff && a.select == b.select &&
         a.ignore == b.ignore && a.key == b.key && a.idle == b.idle && a.linger == b.linger &&
         a.max_body == b.max_body && a.backoff_max == b.backoff_max &&
         a.tls_verify == b.tls_verify && a.ca_file == b.ca_file && a.history == b.history &&
         a.retention == b.retention && a.auth == b.auth &&
         a.max_instances_per_client == b.max_instances_per_client &&
         a.max_header_bytes == b.max_header_bytes &&
         a.max_connections_per_host == b.max_connections_per_host &&
         a.client_cert == b.client_cert && a.client_key == b.client_key;
}

std::vector<std::string> needs_restart(const config::Config& now, const config::Config& next) {
  std::vector<std::string> out;
  const auto& s0 = now.server;
  const auto& s1 = next.server;
  if (s0.host != s1.host || s0.port != s1.port) out.push_back("server.listen");
  if (s0.heartbeat != s1.heartbeat || s0.retry != s1.retry || s0.workers != s1.workers ||
      s0.hub_threads != s1.hub_threads || s0.backlog != s1.backlog ||
      s0.max_clients != s1.max_clients || s0.client_backlog_events != s1.client_backlog_events ||
      s0.client_backlog_bytes != s1.client_backlog_bytes || s0.admin_token != s1.admin_token ||
      s0.cors_origins != s1.cors_origins || s0.shutdown_timeout != s1.shutdown_timeout ||
      s0.static_dir != s1.static_dir) {
    out.push_back("server");
  }
  if (now.state.dir != next.state.dir || now.state.fsync != next.state.fsync) {
    out.push_back("state");
  }
  if (now.history_bytes != next.history_bytes) out.push_back("history_bytes");
  return out;
}

}  // namespace

ReloadResult Runtime::reload(const config::Config& next) {
  MutexLock one_at_a_time(reload_mu_);
  ReloadResult result;
  result.ignored = needs_restart(cfg_, next);

  std::vector<std::shared_ptr<Instance>> old;                // retired by this reload
  std::vector<std::shared_ptr<const StreamTemplate>> plain;  // instances to make
  std::set<std::string> names;
  {
    MutexLock lock(mu_);
    std::map<std::string, std::shared_ptr<const StreamTemplate>> before;
    for (const auto& t : templates_) before[t->cfg.name] = t;
    std::vector<std::shared_ptr<const StreamTemplate>> after;
    std::set<const StreamTemplate*> gone;
    for (const auto& sc : next.streams) {
      names.insert(sc.name);
      auto it = before.find(sc.name);
      if (it != before.end() && same_stream(it->second->cfg, sc)) {
        after.push_back(it->second);
        result.kept.push_back(sc.name);
        before.erase(it);
        continue;
      }
      auto t = make_template(sc);
      after.push_back(t);
      if (!t->parameterized()) plain.push_back(t);
      if (it != before.end()) {
        result.changed.push_back(sc.name);
        gone.insert(it->second.get());
        before.erase(it);
      } else {
        result.added.push_back(sc.name);
      }
    }
    for (const auto& [name, t] : before) {
      result.removed.push_back(name);
      gone.insert(t.get());
    }
    // From here on lookups match the new templates; an instance of an old
    // one that is still being made retires as soon as it is (create()).
    templates_ = std::move(after);
    for (auto& [address, slot] : slots_) {
      if (gone.count(slot.tmpl.get()) && mark_retiring_locked(slot, false)) {
        old.push_back(slot.inst);
      }
    }
  }
  test_point("reload:marked");
  // Clients of the old instances are closed; a lookup of their addresses
  // waits until the successor is there. Nothing here throws: a failure to
  // make a successor is logged and the next lookup tries again.
  for (const auto& inst : old) {
    bool plain_stream = !inst->tmpl().parameterized() && !inst->per_user();
    // A replaced plain stream keeps its saved state for its successor; a
    // parameter instance's is kept for its retention.
    retire(inst, plain_stream ? 0 : expiry_for(*inst));
    MutexLock lock(mu_);
    free_slot_locked(inst->key());
  }
  for (const auto& t : plain) {
    LookupError err;
    bool again = false;
    InstanceRequest req;
    req.address = t->plain_address();
    if (!t->cfg.auth.forward_headers.empty()) continue;  // per-user: made on request
    if (!create(req, req.address, t, {}, &err, &again) && !again) {
      log::error("reload: cannot start stream; it starts on its next request",
                 {{"stream", t->cfg.name}, {"error", err.message}});
    }
  }
  std::size_t deleted = store_->forget_streams_except(names);
  private_store_->forget_streams_except(names);
  if (deleted) log::info("deleted the saved state of removed streams", {{"instances", deleted}});
  return result;
}

}  // namespace pb::core
