#include "cluster/redis_store.h"

#include <pthread.h>
#include <unistd.h>

#include <random>

#include "cluster/lua_scripts.h"
#include "cluster/state_reply.h"
#include "json/document.h"
#include "log/log.h"
#include "sse/event_id.h"

namespace pb::cluster {
namespace {

using SteadyClock = std::chrono::steady_clock;
using stream::StoreError;
using stream::StoreErrorKind;

std::string default_owner() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device rd;
  char rnd[9];
  snprintf(rnd, sizeof rnd, "%08x", static_cast<unsigned>(rd()));
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + rnd;
}

// What a caller waiting on pb-redis gets: done, or the exception the job
// threw.
struct Completion {
  Mutex mu;
  CondVar cv;
  bool done PB_GUARDED_BY(mu) = false;
  std::exception_ptr error PB_GUARDED_BY(mu);
};

}  // namespace

RedisStore::RedisStore(Options options) : options_(std::move(options)) {
  if (options_.owner.empty()) options_.owner = default_owner();
  period_ = std::max<std::chrono::milliseconds>(options_.lease / 3, std::chrono::milliseconds(50));
  {
    MutexLock lock(mu_);
    unavailable_ = "not connected to Redis yet";
  }
  polls_key_ = options_.prefix + "polls";
  if (options_.url.via_sentinel()) {
    sentinel_ = std::make_shared<Sentinel>(options_.url, options_.timeout, [this] {
      {
        MutexLock lock(mu_);
        reconnect_now_ = true;
      }
      cv_.notify_all();
    });
  }
  thread_ = std::thread([this] { run(); });
  follower_ = std::make_unique<EventFollower>(
      options_.url, options_.timeout, [this] { return follow_targets(); },
      [this](const std::string& address, const stream::PersistedState& st) {
        deliver(address, st);
      },
      polls_key_, [this](const EventFollower::Fields& f) { on_poll_entry(f); }, sentinel_);
  log::info("state in Redis", {{"redis", options_.url.redacted()},
                               {"prefix", options_.prefix},
                               {"lease_ms", static_cast<std::int64_t>(options_.lease.count())},
                               {"owner", options_.owner}});
}

RedisStore::~RedisStore() {
  follower_.reset();
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Only now: pb-redis reads sentinel_ while it runs (TSan caught a reset
  // racing its first read). The Sentinel's on_switch wakes pb-redis
  // through mu_, so it must not outlive this object: this is its last
  // owner once both connections are gone.
  sentinel_.reset();
}

void RedisStore::post(Job job) {
  {
    MutexLock lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_all();
}

void RedisStore::call(const std::function<void(RedisConnection&)>& job) {
  auto done = std::make_shared<Completion>();
  post([done, job](RedisConnection* c) {
    std::exception_ptr error;
    if (c == nullptr) {
      error = std::make_exception_ptr(RedisError("Redis is unreachable"));
    } else {
      try {
        job(*c);
      } catch (...) {
        error = std::current_exception();
      }
    }
    MutexLock lock(done->mu);
    done->done = true;
    done->error = error;
    done->cv.notify_all();
  });
  // One round trip, plus a lease turn that may be running before it.
  const auto deadline = SteadyClock::now() + 2 * options_.timeout + period_;
  std::exception_ptr error;
  {
    MutexLock lock(done->mu);
    while (!done->done) {
      if (!done->cv.wait_until(done->mu, deadline) && !done->done) {
        throw StoreError(StoreErrorKind::kIo, "Redis did not answer in time");
      }
    }
    error = done->error;
  }
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const RedisError& e) {
    throw StoreError(StoreErrorKind::kIo, e.what());
  }
}

void RedisStore::set_health(bool ok, const std::string& why) {
  {
    MutexLock lock(mu_);
    std::string next = ok ? std::string() : why;
    if (next == unavailable_) return;
    bool was_ok = unavailable_.empty();
    unavailable_ = next;
    if (ok) {
      log::info("Redis reachable", {{"redis", options_.url.redacted()}});
    } else if (was_ok) {
      log::error("Redis unreachable; serving what is held, issuing no new events",
                 {{"redis", options_.url.redacted()}, {"error", why}});
    }
  }
  MutexLock calls(call_mu_);
  std::vector<stream::Follower*> fs;
  {
    MutexLock lock(mu_);
    for (auto& [address, k] : keys_) {
      if (k.follower != nullptr) fs.push_back(k.follower);
    }
  }
  for (auto* f : fs) f->on_store_health(ok, ok ? std::string() : "Redis unreachable");
}

void RedisStore::run() {
  pthread_setname_np(pthread_self(), "pb-redis");
  RedisConnection conn(options_.url, options_.timeout,
                       {&fenced_append_script(), &lease_script(), &read_script(), &init_script(),
                        &release_script(), &shared_secret_script()},
                       sentinel_);
  // Through Sentinel a lost master is usually a failover in progress: look
  // again soon (kSentinelBackoffMax) rather than after seconds.
  const auto most = sentinel_ ? kSentinelBackoffMax : kReconnectMax;
  auto next_turn = SteadyClock::now();
  auto retry_at = SteadyClock::time_point{};
  auto backoff = kReconnectFirst;
  auto lost = [&](const std::string& why) {
    set_health(false, why);
    retry_at = SteadyClock::now() + backoff;
    backoff = std::min(backoff * 2, most);
  };
  for (;;) {
    std::deque<Job> jobs;
    bool stop = false;
    {
      MutexLock lock(mu_);
      while (!stopping_ && jobs_.empty() && !turn_now_ && !reconnect_now_ &&
             SteadyClock::now() < next_turn) {
        cv_.wait_until(mu_, next_turn);
      }
      if (reconnect_now_) {
        retry_at = {};
        backoff = kReconnectFirst;
        next_turn = SteadyClock::now();
      }
      reconnect_now_ = false;
      if (turn_now_) next_turn = SteadyClock::now();
      turn_now_ = false;
      jobs.swap(jobs_);
      stop = stopping_;
    }
    const auto now = SteadyClock::now();
    if (!conn.connected() && now >= retry_at) {
      try {
        conn.ensure();
        backoff = kReconnectFirst;
        set_health(true, "");
        // Back (a restart, a failover): renew the leases now, not at the
        // next period, as a holder's own trust in its lease ran out
        // meanwhile (may_poll() is false until a turn renews it).
        next_turn = SteadyClock::now();
      } catch (const RedisError& e) {
        lost(e.what());
      }
    }
    for (auto& job : jobs) {
      job(conn.connected() ? &conn : nullptr);
      if (!conn.connected() && retry_at <= now) lost("lost the connection to Redis");
    }
    if (stop) {
      MutexLock lock(mu_);
      if (jobs_.empty()) break;
      continue;
    }
    if (SteadyClock::now() >= next_turn) {
      next_turn = SteadyClock::now() + period_;
      if (conn.connected()) {
        try {
          turn(conn);
        } catch (const RedisError& e) {
          lost(e.what());
        }
      }
    }
  }
  // Leases still held (keys never released): let them go, best effort.
  std::vector<std::pair<std::string, std::string>> held;
  {
    MutexLock lock(mu_);
    for (auto& [address, k] : keys_) {
      if (!k.token.empty()) held.emplace_back(address, k.token);
    }
  }
  for (auto& [address, token] : held) {
    try {
      InstanceKeys ks(options_.prefix, address);
      conn.eval(release_script(), {ks.lease, ks.presence, ks.meta, ks.events},
                {token, options_.owner, "0"});
    } catch (const RedisError&) {
      break;
    }
  }
}

RedisStore::Job RedisStore::release_job(const std::string& address, const std::string& token,
                                        std::int64_t expires_ms) const {
  return [ks = InstanceKeys(options_.prefix, address), token, owner = options_.owner,
          expires_ms](RedisConnection* c) {
    if (c == nullptr) return;
    try {
      c->eval(release_script(), {ks.lease, ks.presence, ks.meta, ks.events},
              {token, owner, std::to_string(expires_ms)});
    } catch (const RedisError&) {
    }
  };
}

void RedisStore::turn(RedisConnection& c) {
  struct Item {
    std::string address;
    std::string token;
    bool leader = false;
    stream::Follower::Position pos;
    bool clients = false;
    bool followed = false;    // its stream is made: a lease may be taken
    std::string behind;       // an append found Redis behind (Key::behind)
    std::int64_t others = 0;  // other processes with clients, at the last turn
  };
  std::vector<Item> items;
  {
    MutexLock calls(call_mu_);
    std::vector<std::pair<std::size_t, stream::Follower*>> fs;
    {
      MutexLock lock(mu_);
      for (auto& [address, k] : keys_) {
        items.push_back(
            {address, k.token, k.leader, {}, false, k.follower != nullptr, k.behind, k.others});
        if (k.follower != nullptr) fs.emplace_back(items.size() - 1, k.follower);
      }
    }
    for (auto& [i, f] : fs) {
      items[i].pos = f->position();
      items[i].clients = f->local_clients() > 0;
    }
  }
  if (items.empty()) return;
  const auto sent = SteadyClock::now();
  const std::string lease_ms = std::to_string(options_.lease.count());
  const std::string presence_ms = std::to_string(options_.lease.count() * kPresenceLeases);
  for (const auto& it : items) {
    InstanceKeys ks(options_.prefix, it.address);
    // A process without clients does not compete for a lease while others
    // have clients: the poller should be where the clients are (`idle:
    // stop` parks a poller without clients).
    const bool want = it.followed && (it.clients || it.others == 0);
    // The event held at the local seq, so that the script can tell Redis
    // lost it even when another took its place (lua_scripts.cpp: lease).
    const std::string digest =
        it.pos.last ? sha1_hex(it.pos.last->type + "\n" + it.pos.last->data) : std::string();
    c.append_eval(lease_script(), {ks.meta, ks.events, ks.lease, ks.presence},
                  {options_.owner, lease_ms, it.token, sse::new_epoch(), it.pos.epoch,
                   std::to_string(it.pos.seq), want ? "1" : "0", it.clients ? "1" : "0",
                   presence_ms, digest});
  }
  std::vector<std::size_t> behind;  // items to catch up
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Item& it = items[i];
    Reply r = c.read_eval(lease_script());
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 5)
      throw RedisError("unexpected lease reply");
    std::string token = string_of(r->element[0]);
    std::string epoch = string_of(r->element[1]);
    std::int64_t others = integer_of(r->element[3]);
    const bool restarted = integer_of(r->element[4]) == 1;
    if (restarted) {
      log::warn(
          "Redis lost events this instance recorded (a failover to a replica that lagged?); "
          "a new epoch starts, clients get a snapshot",
          {{"instance", it.address},
           {"held_seq", static_cast<std::int64_t>(it.pos.seq)},
           {"epoch", epoch}});
    }
    const bool won = !token.empty() && token != it.token;
    const bool lost = token.empty() && !it.token.empty();
    {
      MutexLock lock(mu_);
      auto k = keys_.find(it.address);
      if (k == keys_.end()) {
        // Released meanwhile: a lease just won is let go at once.
        if (won) {
          jobs_.push_back(release_job(it.address, token, 0));
        }
        continue;
      }
      k->second.others = others;
      if (restarted) ++lost_writes_;
      // The epoch moved on (restarted here or by another process): what
      // the refused append saw is history.
      if (restarted || epoch != it.pos.epoch) k->second.behind.clear();
      if (!token.empty() && !won && !it.clients && others > 0) {
        // Held without clients while another process has some: handed
        // over (released at once; one of those takes it at its next turn).
        jobs_.push_back(release_job(it.address, token, 0));
        k->second.token.clear();
        k->second.leader = false;
        log::info("poll lease handed to an instance with clients", {{"instance", it.address}});
        continue;
      }
      k->second.token = token;
      if (token.empty()) {
        k->second.leader = false;
      } else if (!won && k->second.leader) {
        k->second.leader_until =
            sent + std::chrono::duration_cast<SteadyClock::duration>(options_.lease * kLeaseSafety);
      }
    }
    if (lost) log::warn("poll lease lost; another instance polls", {{"instance", it.address}});
    // A lease just won (or kept after a refused append): catch up before
    // polling. Another epoch in Redis: follow it.
    if (!token.empty() && (won || !it.leader)) {
      behind.push_back(i);
    } else if (!epoch.empty() && epoch != it.pos.epoch) {
      behind.push_back(i);
    }
  }
  for (std::size_t i : behind) {
    const Item& it = items[i];
    catch_up(c, it.address);
    MutexLock lock(mu_);
    auto k = keys_.find(it.address);
    if (k == keys_.end() || k->second.token.empty()) continue;
    // Also when this process still believed it led: a lease won again
    // (it expired during an outage or a failover) is trusted from now, not
    // from the next turn.
    const bool was_leader = k->second.leader;
    k->second.leader = true;
    k->second.leader_until =
        sent + std::chrono::duration_cast<SteadyClock::duration>(options_.lease * kLeaseSafety);
    if (was_leader) continue;
    log::info("poll lease held; this instance polls",
              {{"instance", it.address}, {"token", k->second.token}});
  }
}

void RedisStore::catch_up(RedisConnection& c, const std::string& address) {
  MutexLock calls(call_mu_);
  stream::Follower* f = nullptr;
  std::size_t history = 0;
  {
    MutexLock lock(mu_);
    auto k = keys_.find(address);
    if (k == keys_.end()) return;
    f = k->second.follower;
    history = k->second.history;
  }
  if (f == nullptr) return;
  stream::Follower::Position pos = f->position();
  InstanceKeys ks(options_.prefix, address);
  Reply r = c.eval(
      read_script(), {ks.meta, ks.events},
      {pos.epoch, std::to_string(pos.seq), std::to_string(history), std::to_string(pos.doc_seq)});
  if (auto st = parse_state_reply(r.get())) f->on_remote(*st);
}

std::vector<EventFollower::Target> RedisStore::follow_targets() const {
  std::vector<EventFollower::Target> out;
  std::vector<std::pair<std::size_t, stream::Follower*>> fs;
  MutexLock calls(call_mu_);
  {
    MutexLock lock(mu_);
    if (!unavailable_.empty()) return out;
    for (const auto& [address, k] : keys_) {
      if (k.follower == nullptr || k.leader) continue;
      out.push_back({address, InstanceKeys(options_.prefix, address), {}, k.history});
      fs.emplace_back(out.size() - 1, k.follower);
    }
  }
  for (auto& [i, f] : fs) out[i].position = f->position();
  return out;
}

void RedisStore::deliver(const std::string& address, const stream::PersistedState& state) {
  MutexLock calls(call_mu_);
  stream::Follower* f = nullptr;
  {
    MutexLock lock(mu_);
    auto k = keys_.find(address);
    if (k == keys_.end() || k->second.leader) return;
    f = k->second.follower;
  }
  if (f != nullptr) f->on_remote(state);
}

bool RedisStore::may_poll(const std::string& key) const {
  MutexLock lock(mu_);
  auto k = keys_.find(key);
  return k != keys_.end() && k->second.leader && SteadyClock::now() < k->second.leader_until;
}

bool RedisStore::listened_elsewhere(const std::string& key) const {
  MutexLock lock(mu_);
  auto k = keys_.find(key);
  return k != keys_.end() && k->second.others > 0;
}

std::string RedisStore::unavailable() const {
  MutexLock lock(mu_);
  if (!unavailable_.empty()) return unavailable_;
  // Reachable, but refusing this process's appends until a new epoch
  // starts (docs/cluster.md, "Failover").
  for (const auto& [address, k] : keys_) {
    if (!k.behind.empty()) return k.behind;
  }
  return {};
}

std::size_t RedisStore::leases_held() const {
  MutexLock lock(mu_);
  std::size_t n = 0;
  for (const auto& [address, k] : keys_) n += k.leader ? 1 : 0;
  return n;
}

stream::Coordinator::Location RedisStore::location() const {
  if (!sentinel_) {
    return {config::RedisEndpoint{options_.url.host, options_.url.port}.text(), 0};
  }
  return {sentinel_->master(), sentinel_->failovers()};
}

std::uint64_t RedisStore::fenced() const {
  MutexLock lock(mu_);
  return fenced_;
}

std::string RedisStore::shared_secret(const std::string& name, const std::string& fresh) {
  auto value = std::make_shared<std::string>();
  const std::string key = options_.prefix + name;
  const bool through_sentinel = sentinel_ != nullptr;
  const auto wait = options_.timeout / 2;  // within the socket timeout
  call([key, fresh, value, through_sentinel, wait](RedisConnection& c) {
    Reply got = c.eval(shared_secret_script(), {key}, {fresh});
    if (got->type != REDIS_REPLY_STRING) {
      throw RedisError("the shared secret has no value: " + error_of(got.get()));
    }
    // A value a failover can lose is never used (docs/cluster.md, "The
    // per-user key in a failover"): replication is asynchronous, so it is
    // used only once a replica acknowledged it. Through Sentinel there is a
    // replica by definition (the one a failover promotes); with plain
    // redis:// only when the master lists one (a managed service that
    // fails over by itself).
    bool replicated = through_sentinel;
    if (!replicated) {
      Reply role = c.command({"ROLE"});
      replicated = role->type == REDIS_REPLY_ARRAY && role->elements >= 3 &&
                   role->element[2]->type == REDIS_REPLY_ARRAY && role->element[2]->elements > 0;
    }
    if (replicated) {
      Reply acked = c.command({"WAIT", "1", std::to_string(wait.count())});
      if (acked->type != REDIS_REPLY_INTEGER || acked->integer < 1) {
        throw RedisError("no replica acknowledged the shared secret within " +
                         std::to_string(wait.count()) + " ms");
      }
    }
    *value = string_of(got.get());
  });
  return *value;
}

stream::State make_redis_state(const config::StateConfig& state) {
  RedisStore::Options o;
  std::string why;
  if (!config::parse_redis_url(state.redis, o.url, why)) {
    throw StoreError(StoreErrorKind::kOther, "state.redis " + why);
  }
  o.url.sentinel_password = state.sentinel_password;
  o.prefix = state.prefix;
  o.lease = state.lease;
  auto redis = std::make_shared<RedisStore>(std::move(o));
  return {redis, redis};
}

std::string redacted_redis(const std::string& url) {
  config::RedisUrl u;
  std::string why;
  return config::parse_redis_url(url, u, why) ? u.redacted() : std::string("redis://***");
}

}  // namespace pb::cluster
