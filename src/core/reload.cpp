// Runtime::reload: applying a new config's streams to the running proxy.
#include <algorithm>

#include "config/keys.h"
#include "core/runtime.h"
#include "log/log.h"

namespace pb::core {

ReloadResult Runtime::reload(const config::Config& next) {
  MutexLock one_at_a_time(reload_mu_);
  ReloadResult result;
  // Live settings: the history bounds (read by the streams at every event)
  // and the heartbeat (read by the hub at every tick).
  history_bytes_->store(next.history_bytes);
  hub_.set_heartbeat(next.server.heartbeat);

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
      config::StreamConfig running;
      if (it != before.end()) {
        running = it->second->cfg;
        running.history = it->second->history->load();
      }
      const config::StreamChanges changes =
          it != before.end() ? config::stream_key_changes(running, sc) : config::StreamChanges{};
      if (it != before.end() && changes.replace.empty()) {
        it->second->history->store(sc.history);
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
