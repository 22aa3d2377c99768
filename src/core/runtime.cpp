#include "core/runtime.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "common/time_format.h"
#include "core/access_log.h"
#include "core/compressed_feed.h"
#include "core/mux_channel.h"
#include "core/poll_chain.h"
#include "core/stream_locks.h"
#include "core/user_key.h"
#include "log/log.h"
#include "log/private_id.h"
#include "stream/memory_store.h"

namespace pb::core {
namespace {

using SteadyClock = std::chrono::steady_clock;

// server.hub_threads: 0 means one per core, at most kMaxAutoHubThreads.
std::size_t hub_threads(std::size_t configured) {
  if (configured) return configured;
  std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::min(cores, kMaxAutoHubThreads);
}

// The client gets a short answer (`render`'s, when set) rather than a
// silent close when its stream could not be attached after the handler gave
// up the connection (written through its transport: plain or TLS).
void refuse_socket(hub::Transport& io, const LookupError& err, RefusalRenderer render) {
  if (render != nullptr) {
    std::string msg = render(err);
    ssize_t w = io.write(msg.data(), msg.size());
    (void)w;
  }
  io.close();
}

}  // namespace

Runtime::Runtime(const config::Config& cfg, stream::State state)
    : Runtime(cfg, std::move(state), Options{}) {}

Runtime::Runtime(const config::Config& cfg, stream::State state, Options options)
    : cfg_(cfg),
      options_(std::move(options)),
      history_bytes_(std::make_shared<std::atomic<std::size_t>>(cfg.history_bytes)),
      store_(std::move(state.store)),
      coordinator_(std::move(state.coordinator)),
      hub_(hub::Options{hub_threads(cfg.server.hub_threads), cfg.server.heartbeat,
                        cfg.server.client_backlog_events, cfg.server.client_backlog_bytes,
                        options_.clock}),
      scheduler_(kProcessingThreads, *options_.clock) {
  private_store_ = std::make_unique<stream::MemoryStore>();
  user_key_ = random_user_key();
  // A shared store (Redis): other processes' poll requests for instances
  // this one polls.
  coordinator_->on_poll_requests([this](const std::string& key, std::function<void()> done) {
    poll_requested(key, std::move(done));
  });
  std::set<std::string> names;
  std::vector<std::shared_ptr<const StreamTemplate>> plain;
  {
    MutexLock lock(mu_);
    for (const auto& s : cfg_.streams) {
      auto t = make_template(s);
      templates_.push_back(t);
      names.insert(s.name);
      // Per-user streams have no shared instance: each is made on request.
      if (!t->parameterized() && s.auth.forward_headers.empty()) plain.push_back(t);
    }
  }
  for (const auto& t : plain) {
    LookupError err;
    bool again = false;
    InstanceRequest req;
    req.address = t->plain_address();
    if (!create(req, req.address, t, {}, &err, &again)) {
      throw std::runtime_error("stream " + t->cfg.name + ": " + err.message);
    }
  }
  // Streams removed from the config while pollbridge was stopped.
  std::size_t gone = store_->forget_streams_except(names);
  if (gone) log::info("deleted the saved state of removed streams", {{"instances", gone}});
}

Runtime::~Runtime() {
  stop(std::chrono::milliseconds(0));
}

void Runtime::test_point(std::string_view point) const {
  if (options_.test_point) options_.test_point(point);
}

bool Runtime::keeps_private_state(const config::StreamConfig& cfg, bool per_user) {
  return per_user && !cfg.auth.persist;
}

std::shared_ptr<Instance> Runtime::make_instance(const InstanceRequest& req, const std::string& key,
                                                 const std::shared_ptr<const StreamTemplate>& tmpl,
                                                 const std::map<std::string, std::string>& values) {
  config::StreamConfig cfg = instance_config(tmpl->cfg, values, req.forwarded);
  InstanceRequest kept = req;
  kept.owner.clear();
  const bool own = keeps_private_state(tmpl->cfg, req.per_user);
  return std::make_shared<Instance>(
      std::move(kept), key, tmpl, cfg, history_bytes_, own ? private_store_.get() : store_.get(),
      own ? &private_coordinator_ : coordinator_.get(), hub_, *options_.clock);
}

void Runtime::start() {
  hub_.start();
  scheduler_.start();
  if (options_.janitor_thread) {
    janitor_waker_ = options_.clock->on_advance([this] {
      MutexLock lock(janitor_mu_);
      janitor_cv_.notify_all();
    });
    janitor_ = std::thread([this] { janitor_loop(); });
  }
}

void Runtime::stop(std::chrono::milliseconds drain) {
  {
    MutexLock lock(janitor_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  janitor_cv_.notify_all();
  if (janitor_.joinable()) janitor_.join();
  janitor_waker_.reset();
  coordinator_->on_poll_requests(nullptr);
  // Clients first, so that nobody waits on a stream that stops changing.
  hub_.stop(drain);
  scheduler_.stop();
  std::vector<std::shared_ptr<Instance>> insts;
  std::vector<std::shared_ptr<MuxChannel>> chans;
  {
    MutexLock lock(mu_);
    for (auto& [a, ch] : channels_) chans.push_back(ch);
    channels_.clear();
    chans.insert(chans.end(), dead_channels_.begin(), dead_channels_.end());
    dead_channels_.clear();
    for (auto& [a, slot] : slots_) {
      if (slot.inst) insts.push_back(slot.inst);
    }
    insts.insert(insts.end(), dead_instances_.begin(), dead_instances_.end());
    dead_instances_.clear();
  }
  for (const auto& ch : chans) stop_channel(ch);
  chans.clear();
  // Keep the slots (and so the instances) until the runtime goes: callers
  // may still hold references; the store keys are released at destruction.
}

std::shared_ptr<Instance> Runtime::find(const std::string& address, bool create_param,
                                        LookupError* error) {
  InstanceRequest req;
  req.address = address;
  req.create = create_param;
  return find(req, error);
}

Runtime::Match Runtime::match(const std::string& address) const {
  std::vector<std::shared_ptr<const StreamTemplate>> templates;
  {
    MutexLock lock(mu_);
    templates = templates_;
  }
  std::vector<std::string> segs = split_segments(address);
  Match out;
  for (const auto& t : templates) {
    TemplateMatch m = match_template(*t, segs, address);
    if (m.kind == TemplateMatch::kNone) continue;
    out.tmpl = t;
    out.invalid = m.kind == TemplateMatch::kInvalid;
    out.why = m.why;
    out.values = std::move(m.values);
    break;
  }
  return out;
}

std::shared_ptr<Instance> Runtime::find(const InstanceRequest& req, LookupError* error) {
  const std::string& address = req.address;
  const bool create_param = req.create;
  const std::string key = instance_key(req, user_key_);
  std::vector<std::string> segs = split_segments(address);
  LookupError dummy;
  LookupError& err = error ? *error : dummy;
  const auto deadline = SteadyClock::now() + kLookupWait;
  std::vector<std::shared_ptr<const StreamTemplate>> templates;
  for (;;) {
    {
      MutexLock lock(mu_);
      for (;;) {
        auto it = slots_.find(key);
        if (it == slots_.end()) break;
        if (it->second.state == Slot::kLive) return it->second.inst;
        // Being made or replaced: wait for it rather than build a twin.
        if (!slots_cv_.wait_until(mu_, deadline)) {
          err = {LookupFailure::kBusy, "stream " + address + " is being replaced; retry", 1};
          return nullptr;
        }
      }
      templates = templates_;
    }
    test_point("find:matching");
    // Pattern matching on the request's values, without the lock.
    bool matched = false;
    for (const auto& t : templates) {
      TemplateMatch m = match_template(*t, segs, address);
      if (m.kind == TemplateMatch::kNone) continue;
      matched = true;
      if (m.kind == TemplateMatch::kInvalid) {
        err = {LookupFailure::kInvalid, m.why, 0};
        return nullptr;
      }
      if (t->cfg.auth.forward_headers.empty() == req.per_user) {
        // A per-user stream asked for without a client (admin), or a stream
        // reloaded between the caller's access check and here (it gained or
        // lost forward_headers; the client retries).
        err = req.per_user ? LookupError{LookupFailure::kBusy,
                                         "stream " + address + " was reconfigured; retry", 1}
                           : LookupError{LookupFailure::kNotFound,
                                         "stream " + address +
                                             " is per-user: it has no "
                                             "shared instance",
                                         0};
        return nullptr;
      }
      if ((m.kind == TemplateMatch::kValues || req.per_user) && !create_param) {
        err = {LookupFailure::kNotFound, "stream " + address + " has no live instance", 0};
        return nullptr;
      }
      bool again = false;
      auto inst = create(req, key, t, m.values, &err, &again);
      if (inst || !again) return inst;
      break;  // raced with another creator or a reload: look again
    }
    if (!matched) {
      err = {LookupFailure::kNotFound, "no stream named " + address, 0};
      return nullptr;
    }
    if (SteadyClock::now() >= deadline) {
      err = {LookupFailure::kBusy, "stream " + address + " is being replaced; retry", 1};
      return nullptr;
    }
  }
}

std::shared_ptr<Instance> Runtime::create(const InstanceRequest& req, const std::string& address,
                                          const std::shared_ptr<const StreamTemplate>& tmpl,
                                          const std::map<std::string, std::string>& values,
                                          LookupError* error, bool* again) {
  *again = false;
  const bool on_demand = tmpl->parameterized() || req.per_user;
  {
    MutexLock lock(mu_);
    // Looked up without the lock: someone may have made it meanwhile, or a
    // reload replaced the template. Then look again.
    if (slots_.count(address) ||
        std::find(templates_.begin(), templates_.end(), tmpl) == templates_.end()) {
      *again = true;
      return nullptr;
    }
    std::size_t& live = per_template_[tmpl.get()];
    const std::size_t cap =
        config::per_client_cap(tmpl->cfg, req.owner.rfind(kSubjectOwnerPrefix, 0) == 0);
    const std::string owner = on_demand && cap != 0 ? req.owner : std::string();
    if (on_demand && live >= tmpl->cfg.max_instances) {
      *error = {LookupFailure::kOverLimit,
                "stream " + tmpl->cfg.name + " has reached max_instances (" +
                    std::to_string(tmpl->cfg.max_instances) + ")",
                5, "streams[].max_instances", tmpl->cfg.name};
      return nullptr;
    } else if (!owner.empty() && per_owner_.count({tmpl.get(), owner}) &&
               per_owner_[{tmpl.get(), owner}] >= cap) {
      // One client cannot take the pool that others need.
      *error = {LookupFailure::kClientOverLimit,
                "this client has reached stream " + tmpl->cfg.name +
                    "'s max_instances_per_client (" + std::to_string(cap) + ")",
                5, "streams[].max_instances_per_client", tmpl->cfg.name};
      return nullptr;
    }
    if (!owner.empty()) ++per_owner_[{tmpl.get(), owner}];
    ++live;
    Slot& slot = slots_[address];
    slot.state = Slot::kCreating;
    slot.tmpl = tmpl;
    slot.owner = owner;
  }
  test_point("create:slot-reserved");
  std::shared_ptr<Instance> inst;
  std::string why;
  try {
    inst = make_instance(req, address, tmpl, values);  // store load: no lock held
  } catch (const std::exception& e) {
    why = e.what();
  }
  MutexLock lock(mu_);
  if (!inst) {
    free_slot_locked(address);
    log::error("cannot make stream instance",
               {{"stream", tmpl->cfg.name},
                {"instance", log::instance_field(address, req.per_user)},
                {"error", why}});
    *error = {LookupFailure::kBusy, "stream " + address + " cannot be started now; retry", 1};
    return nullptr;
  }
  if (std::find(templates_.begin(), templates_.end(), tmpl) == templates_.end()) {
    // A reload replaced or removed the template while this was made: it
    // never goes live; its key is released for the successor.
    Slot& slot = slots_[address];
    slot.inst = inst;
    slot.state = Slot::kRetiring;
    inst->retiring().store(true);
    lock.unlock();
    retire(inst, expiry_for(*inst));
    lock.lock();
    free_slot_locked(address);
    *again = true;
    return nullptr;
  }
  Slot& slot = slots_[address];
  slot.inst = inst;
  slot.state = Slot::kLive;
  slots_cv_.notify_all();
  if (on_demand) {
    log::info("instance made", {{"stream", tmpl->cfg.name},
                                {"instance", log::instance_field(address, req.per_user)}});
  }
  scheduler_.add(&inst->poller());
  return inst;
}

void Runtime::free_slot_locked(const std::string& address) {
  auto it = slots_.find(address);
  if (it == slots_.end()) return;
  uncount_locked(it->second);
  slots_.erase(it);
  slots_cv_.notify_all();
}

void Runtime::uncount_locked(Slot& slot) {
  if (!slot.counted) return;
  slot.counted = false;
  auto count = per_template_.find(slot.tmpl.get());
  if (count != per_template_.end() && --count->second == 0) per_template_.erase(count);
  if (!slot.owner.empty()) {
    auto owned = per_owner_.find({slot.tmpl.get(), slot.owner});
    if (owned != per_owner_.end() && --owned->second == 0) per_owner_.erase(owned);
  }
}

bool Runtime::mark_retiring_locked(Slot& slot, bool unless_used) {
  if (slot.state != Slot::kLive) return false;
  Instance& inst = *slot.inst;
  inst.retiring().store(true);
  // Pairs with attach(): a client counts itself, then checks `retiring`;
  // here the reverse. One of the two sees the other.
  if (unless_used && inst.stream().client_count() != 0) {
    inst.retiring().store(false);
    return false;
  }
  slot.state = Slot::kRetiring;
  uncount_locked(slot);
  slots_cv_.notify_all();
  return true;
}

bool Runtime::attach(std::shared_ptr<Instance> inst, hub::Transport io, std::string head,
                     const std::optional<std::string>& last_id,
                     hub::SteadyClock::time_point close_at, stream::Format format,
                     std::shared_ptr<const hub::Revocable> revocable, sse::Coding coding) {
  for (;;) {
    auto presence = inst->stream().presence();
    presence->arrive(options_.clock->now());
    test_point("attach:counted");
    bool replaced = inst->retiring().load();
    if (!replaced) {
      // A successor may have another mode: resolved per instance.
      const stream::Format f =
          stream::resolve_format(inst->cfg().diff, format).value_or(stream::Format::kNative);
      inst->stream().prepare_snapshot();  // encoded without the lock
      MutexLock lock(inst->stream().mutex());
      if (!inst->stream().retired_locked()) {
        stream::ResumePlan plan = inst->stream().plan_resume_locked(last_id, f);
        std::vector<hub::Buffer> preamble;
        preamble.reserve(plan.events.size() + 1);
        preamble.push_back(std::make_shared<const std::string>(std::move(head)));
        for (const auto& ev : plan.events) preamble.push_back(ev->wire);
        AccessInfo access = access_info(peer_address(io.fd()), {inst}, last_id, plan.fresh);
        if (f != stream::Format::kNative) inst->stream().add_format_user_locked(f);
        const bool coded = coding != sse::Coding::kIdentity;
        std::function<void()> uncount;
        if (coded) {
          preamble = inst->compressed(f).opening(preamble, coding);
          uncount = count_compressed(inst->compressed(f).users(), coding);
        }
        bool ok = hub_.attach(
            coded ? inst->compressed(f).feed() : inst->feed(f), std::move(io), std::move(preamble),
            access_hook(access,
                        [presence, f, clock = options_.clock, uncount] {
                          if (f != stream::Format::kNative) {
                            presence->format_users[static_cast<std::size_t>(f)].fetch_sub(1);
                          }
                          if (uncount) uncount();
                          presence->leave(clock->now());
                        }),
            close_at, std::move(revocable), coded ? compressed_heartbeat_buffer() : nullptr);
        lock.unlock();
        log_connect(access);
        scheduler_.wake(&inst->poller());
        return ok;
      }
    }
    // Being replaced while this client connected: use the successor.
    presence->leave(options_.clock->now());
    LookupError err;
    InstanceRequest again = inst->request();
    again.create = true;
    auto next = find(again, &err);
    if (!next) {
      refuse_socket(io, err, refusal_);
      return false;
    }
    inst = std::move(next);
  }
}

bool Runtime::attach_mux(std::vector<std::shared_ptr<Instance>> insts, hub::Transport io,
                         std::string head, const std::optional<std::string>& last_id,
                         hub::SteadyClock::time_point close_at, stream::Format format,
                         std::shared_ptr<const hub::Revocable> revocable, sse::Coding coding) {
  std::string key;
  for (const auto& i : insts) key += i->key() + "\n";
  key += stream::format_name(format);  // one channel per list and format
  for (;;) {
    std::shared_ptr<MuxChannel> ch, old;
    bool outdated = false;
    {
      MutexLock lock(mu_);
      auto& slot = channels_[key];
      if (slot && !slot->retired() && slot->members() != insts) {
        // Another channel for the same list, made of other instances: ours
        // are being replaced (then find the successors), or theirs are
        // (then theirs is stopped now rather than when they retire).
        for (const auto& i : insts) outdated = outdated || i->retiring().load();
      }
      if (!outdated) {
        if (!slot || slot->retired() || slot->members() != insts) {
          old = slot;
          slot = std::make_shared<MuxChannel>(insts, hub_, format);
        }
        ch = slot;
        ch->sessions()->fetch_add(1);  // a reservation: the janitor keeps it
      }
    }
    if (old) {
      stop_channel(old);
      MutexLock lock(mu_);
      dead_channels_.push_back(std::move(old));
    }
    std::vector<std::shared_ptr<stream::Presence>> presences;
    bool replaced = outdated;
    if (!outdated) test_point("mux:reserved");
    if (!outdated) {
      for (const auto& m : ch->members()) {
        presences.push_back(m->stream().presence());
        presences.back()->arrive(options_.clock->now());
      }
      for (const auto& m : ch->members()) replaced = replaced || m->retiring().load();
    }
    if (!replaced) {
      for (const auto& m : ch->members()) m->stream().prepare_snapshot();
      StreamLocks locks(ch->members());
      if (!any_retired_locked(ch->members()) && !ch->retired()) {
        ch->ensure_started_locked();
        std::vector<hub::Buffer> preamble;
        preamble.push_back(std::make_shared<const std::string>(std::move(head)));
        for (auto& b : ch->preamble_locked(last_id)) preamble.push_back(std::move(b));
        const bool coded = coding != sse::Coding::kIdentity;
        std::function<void()> uncount;
        if (coded) {
          preamble = ch->compressed().opening(preamble, coding);
          uncount = count_compressed(ch->compressed().users(), coding);
        }
        auto closer = [sessions = ch->sessions(), presences, clock = options_.clock, uncount] {
          if (uncount) uncount();
          sessions->fetch_sub(1);
          for (const auto& p : presences) p->leave(clock->now());
        };
        AccessInfo access =
            access_info(peer_address(io.fd()), ch->members(), last_id, !last_id.has_value());
        bool ok =
            hub_.attach(coded ? ch->compressed().feed() : ch->feed(), std::move(io),
                        std::move(preamble), access_hook(access, std::move(closer)), close_at,
                        std::move(revocable), coded ? compressed_heartbeat_buffer() : nullptr);
        locks.release();
        log_connect(access);
        for (const auto& m : ch->members()) scheduler_.wake(&m->poller());
        return ok;
      }
    }
    // A member was replaced while this client connected: use the
    // successors (and a channel made of them).
    if (ch) ch->sessions()->fetch_sub(1);
    for (const auto& p : presences) p->leave(options_.clock->now());
    std::vector<std::shared_ptr<Instance>> next;
    for (const auto& i : insts) {
      LookupError err;
      InstanceRequest again = i->request();
      again.create = true;
      auto n = find(again, &err);
      if (!n) {
        refuse_socket(io, err, refusal_);
        return false;
      }
      next.push_back(std::move(n));
    }
    insts = std::move(next);
  }
}

bool Runtime::trigger(const std::shared_ptr<Instance>& inst,
                      std::optional<std::chrono::milliseconds> wait) {
  std::uint64_t ticket = scheduler_.trigger(&inst->poller());
  if (!inst->stream().may_poll()) {
    // Another process holds the poll lease (a shared store): it polls. The
    // local trigger above still counts should this one win the lease first.
    return inst->coordinator().request_poll(inst->key(),
                                            wait.value_or(std::chrono::milliseconds(0)));
  }
  if (!wait) return true;
  return scheduler_.wait_polled(&inst->poller(), ticket, *wait);
}

void Runtime::poll_requested(const std::string& key, std::function<void()> done) {
  std::shared_ptr<Instance> inst;
  {
    MutexLock lock(mu_);
    for (const auto& [address, slot] : slots_) {
      if (slot.state == Slot::kLive && slot.inst && slot.inst->key() == key) inst = slot.inst;
    }
  }
  if (!inst) {
    done();
    return;
  }
  scheduler_.trigger(&inst->poller(), std::move(done));
}

std::vector<std::shared_ptr<Instance>> Runtime::instances() const {
  MutexLock lock(mu_);
  std::vector<std::shared_ptr<Instance>> out;
  for (const auto& [a, slot] : slots_) {
    if (slot.state == Slot::kLive) out.push_back(slot.inst);
  }
  return out;
}

std::size_t Runtime::graveyard_size() const {
  MutexLock lock(mu_);
  return dead_instances_.size() + dead_channels_.size();
}

void Runtime::stop_channel(const std::shared_ptr<MuxChannel>& ch) {
  StreamLocks locks(ch->members());
  ch->stop_locked();
}

}  // namespace pb::core
