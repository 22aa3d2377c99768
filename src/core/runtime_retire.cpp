// Runtime, the end of instances: retire() (an instance's poll stops, its
// stream ends, its store key is released) and the janitor thread that
// reaps idle parameterized and per-user instances, closes per-user
// instances whose upstream refuses their credentials, and destroys what
// was retired once nobody holds it. The rest of Runtime is runtime.cpp.
//
// Threads: the janitor thread, and reload()/stop() callers for
// retire().
#include <exception>

#include "core/mux_channel.h"
#include "core/runtime.h"
#include "log/log.h"
#include "log/private_id.h"

namespace pb::core {

void Runtime::retire(const std::shared_ptr<Instance>& inst, std::int64_t expires_ms) {
  // 1. No poll runs for it any more: one in flight is cancelled, not waited
  //    for (only a response already being processed finishes).
  scheduler_.remove(&inst->poller());
  test_point("retire:poll-removed");
  // 2. The stream ends: its feed closes, and every channel listening to it
  //    hears it and closes its own.
  {
    MutexLock lock(inst->stream().mutex());
    inst->stream().retire_locked();
  }
  std::vector<std::shared_ptr<MuxChannel>> chans;
  {
    MutexLock lock(mu_);
    for (auto it = channels_.begin(); it != channels_.end();) {
      const auto& m = it->second->members();
      if (std::find(m.begin(), m.end(), inst) != m.end()) {
        chans.push_back(it->second);
        it = channels_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& ch : chans) stop_channel(ch);
  // 3. Last, the store key: a successor may load it from now on.
  test_point("retire:before-release");
  inst->store().release(inst->key(), expires_ms);
  MutexLock lock(mu_);
  dead_instances_.push_back(inst);
  dead_channels_.insert(dead_channels_.end(), chans.begin(), chans.end());
}

std::int64_t Runtime::expiry_for(const Instance& inst) const {
  const config::StreamConfig& cfg = inst.cfg();
  // A per-user instance kept in memory only: its data goes with it.
  if (inst.per_user() && !cfg.auth.persist) return unix_ms(options_.clock->system_now());
  auto retention = cfg.retention;
  if (retention.count() == 0) {
    const std::size_t history = inst.tmpl().history->load();
    retention = std::clamp<config::Duration>(
        cfg.interval * static_cast<long long>(std::min<std::size_t>(history, 1u << 20)),
        kMinDefaultRetention, kMaxDefaultRetention);
  }
  return unix_ms(options_.clock->system_now()) + retention.count();
}

void Runtime::retire_refused_users() {
  std::vector<std::shared_ptr<Instance>> users;
  {
    MutexLock lock(mu_);
    for (auto& [key, slot] : slots_) {
      if (slot.state == Slot::kLive && slot.inst->per_user() &&
          slot.tmpl->cfg.auth.mode == config::AuthMode::kUpstream) {
        users.push_back(slot.inst);
      }
    }
  }
  std::vector<std::shared_ptr<Instance>> refused;
  for (const auto& inst : users) {  // stream locks, without mu_
    stream::Status st = inst->stream().status();
    if (!st.ok && (st.http_status == 401 || st.http_status == 403)) refused.push_back(inst);
  }
  if (refused.empty()) return;
  std::vector<std::shared_ptr<Instance>> marked;
  {
    MutexLock lock(mu_);
    for (const auto& inst : refused) {
      auto it = slots_.find(inst->key());
      if (it != slots_.end() && it->second.inst == inst &&
          mark_retiring_locked(it->second, false)) {
        marked.push_back(inst);
      }
    }
  }
  for (const auto& inst : marked) {
    // Its clients have had the status event saying why; now they are closed
    // and must be admitted again (a new first 2xx) to read on.
    retire(inst, expiry_for(*inst));
    log::info("per-user instance closed: the upstream refuses its credentials",
              {{"stream", inst->cfg().name}, {"instance", inst->key()}});
    MutexLock lock(mu_);
    free_slot_locked(inst->key());
  }
}

void Runtime::run_janitor_once() {
  retire_refused_users();
  std::vector<std::shared_ptr<MuxChannel>> idle_channels;
  std::vector<std::shared_ptr<Instance>> reaped;
  bool sweep = false;
  {
    MutexLock lock(mu_);
    for (auto it = channels_.begin(); it != channels_.end();) {
      // Reservations count as sessions and are taken under this lock, so
      // nobody is about to attach to a channel taken here.
      if (it->second->sessions()->load() == 0 || it->second->retired()) {
        idle_channels.push_back(it->second);
        it = channels_.erase(it);
      } else {
        ++it;
      }
    }
    auto now = options_.clock->now();
    for (auto& [address, slot] : slots_) {
      if (slot.state != Slot::kLive) continue;
      if (!slot.tmpl->parameterized() && !slot.inst->per_user()) continue;
      const auto& p = *slot.inst->stream().presence();
      if (p.clients.load() != 0 || now - p.last() < slot.inst->cfg().linger) continue;
      if (mark_retiring_locked(slot, true)) reaped.push_back(slot.inst);
    }
    auto now_ms = unix_ms(options_.clock->system_now());
    if (now_ms >= next_sweep_ms_) {
      sweep = true;
      next_sweep_ms_ = now_ms + std::chrono::milliseconds(kSweepPeriod).count();
    }
  }
  for (const auto& ch : idle_channels) stop_channel(ch);
  for (const auto& inst : reaped) {
    retire(inst, expiry_for(*inst));
    log::info("instance reaped",
              {{"stream", inst->cfg().name},
               {"instance", log::instance_field(inst->key(), inst->per_user())}});
    MutexLock lock(mu_);
    free_slot_locked(inst->key());
  }
  if (sweep) {
    std::size_t gone = store_->sweep(unix_ms(options_.clock->system_now()));
    private_store_->sweep(unix_ms(options_.clock->system_now()));
    if (gone) log::info("deleted expired saved state", {{"instances", gone}});
  }
  // Destroy what nobody else holds any more, here, on this thread.
  std::vector<std::shared_ptr<MuxChannel>> free_channels;
  std::vector<std::shared_ptr<Instance>> free_instances;
  {
    MutexLock lock(mu_);
    dead_channels_.insert(dead_channels_.end(), idle_channels.begin(), idle_channels.end());
    idle_channels.clear();
    for (auto it = dead_channels_.begin(); it != dead_channels_.end();) {
      if (it->use_count() == 1) {
        free_channels.push_back(std::move(*it));
        it = dead_channels_.erase(it);
      } else {
        ++it;
      }
    }
  }
  free_channels.clear();  // may drop instance references
  {
    MutexLock lock(mu_);
    for (auto it = dead_instances_.begin(); it != dead_instances_.end();) {
      if (it->use_count() == 1) {
        free_instances.push_back(std::move(*it));
        it = dead_instances_.erase(it);
      } else {
        ++it;
      }
    }
  }
  reaped.clear();
  free_instances.clear();
}

void Runtime::janitor_loop() {
  Clock& clock = *options_.clock;
  MutexLock lock(janitor_mu_);
  while (!stopping_) {
    // A manual clock's advance() notifies janitor_cv_ under janitor_mu_, so a
    // new time is never missed between the look and the wait.
    const auto next = clock.now() + kJanitorPeriod;
    while (!stopping_ && clock.now() < next) {
      if (auto bound = clock.wait_bound(next)) {
        janitor_cv_.wait_for(janitor_mu_, *bound);
      } else {
        janitor_cv_.wait(janitor_mu_);
      }
    }
    if (stopping_) break;
    lock.unlock();
    try {
      run_janitor_once();
    } catch (const std::exception& e) {
      // A thread's entry point: report and go on rather than terminate.
      log::error("janitor failed", {{"error", e.what()}});
    } catch (...) {
      log::error("janitor failed", {{"error", "unknown exception"}});
    }
    test_point("janitor:round");
    lock.lock();
  }
}

}  // namespace pb::core
