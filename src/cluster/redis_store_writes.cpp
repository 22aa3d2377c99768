// RedisStore as the stream::Store of its instances: loading and resetting
// an instance's state, the fenced append of a commit, the lease's touch and
// release, and which follower a key's remote events go to (redis_store.h
// says which thread calls each; the command thread's loop, lease turns and
// failover handling are in redis_store.cpp).
#include "cluster/lua_scripts.h"
#include "cluster/redis_store.h"
#include "cluster/state_reply.h"
#include "json/document.h"
#include "log/log.h"
#include "sse/event_id.h"

namespace pb::cluster {

using stream::StoreError;
using stream::StoreErrorKind;

std::optional<stream::PersistedState> RedisStore::load(const std::string& key,
                                                       const std::string& stream,
                                                       std::size_t history) {
  {
    MutexLock lock(mu_);
    if (keys_.count(key))
      throw StoreError(StoreErrorKind::kOwned, "key " + key + " is already owned");
    Key k;
    k.stream = stream;
    k.history = std::max<std::size_t>(history, 1);
    keys_.emplace(key, k);
  }
  cv_.notify_all();
  auto result = std::make_shared<std::optional<stream::PersistedState>>();
  InstanceKeys ks(options_.prefix, key);
  const std::string count = std::to_string(std::max<std::size_t>(history, 1));
  call([result, ks, count](RedisConnection& c) {
    Reply r = c.eval(read_script(), {ks.meta, ks.events}, {"", "0", count, "0"});
    *result = parse_state_reply(r.get());
  });
  return *result;
}

void RedisStore::reset(const std::string& key, const std::string& stream,
                       const std::string& epoch) {
  {
    MutexLock lock(mu_);
    if (!keys_.count(key)) {
      Key k;
      k.stream = stream;
      keys_.emplace(key, k);
    }
  }
  // Starts the history only if Redis has none: another process's state is
  // never dropped. If it has one, the next lease turn brings this process
  // to it. Not waited for: a client making a new instance waits for one
  // round trip (the load) only; if this fails, the lease turn that wins the
  // lease starts the history instead.
  InstanceKeys ks(options_.prefix, key);
  post([ks, epoch](RedisConnection* c) {
    if (c == nullptr) return;
    try {
      c->eval(init_script(), {ks.meta, ks.events}, {epoch});
    } catch (const RedisError&) {
    }
  });
}

void RedisStore::append(const std::string& key, const stream::Commit& commit) {
  if (commit.events.empty()) return;
  std::string token;
  std::size_t history = 0;
  {
    MutexLock lock(mu_);
    auto k = keys_.find(key);
    if (k == keys_.end()) throw StoreError(StoreErrorKind::kOther, "key " + key + " is not owned");
    // Whatever this process believes (a lease it just lost, or one it has
    // not noticed losing after a pause), the script decides: the fence is
    // the only authority.
    token = k->second.token;
    history = k->second.history;
  }
  InstanceKeys ks(options_.prefix, key);
  RedisConnection::Args args = {token,
                                commit.epoch,
                                std::to_string(commit.events.front()->seq - 1),
                                std::to_string(history),
                                ks.channel,
                                commit.doc ? "1" : "0",
                                commit.doc ? json::dump(*commit.doc) : std::string(),
                                std::to_string(commit.doc_seq),
                                std::to_string(commit.doc_changed_ms),
                                std::to_string(commit.fetched_ms)};
  for (const auto& ev : commit.events) {
    args.push_back(ev->type);
    args.push_back(ev->data);
  }
  auto refused = std::make_shared<std::string>();
  call([ks, args = std::move(args), refused](RedisConnection& c) {
    Reply r = c.eval(fenced_append_script(), {ks.meta, ks.events, ks.lease}, args);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
      throw RedisError("unexpected reply to fenced_append");
    }
    if (integer_of(r->element[0]) != 1) *refused = string_of(r->element[1]);
  });
  if (refused->empty()) return;
  const bool behind = *refused == "behind";
  {
    MutexLock lock(mu_);
    ++fenced_;
    auto k = keys_.find(key);
    if (k != keys_.end()) {
      k->second.leader = false;
      if (*refused == "lease") k->second.token.clear();
      if (behind) {
        k->second.behind = "Redis lost events of " + key + " (sequence " +
                           std::to_string(commit.events.front()->seq - 1) +
                           " recorded, fewer held)";
        // The next lease turn starts the new epoch: now, not in lease/3.
        turn_now_ = true;
      }
    }
  }
  cv_.notify_all();
  if (behind) {
    log::warn("append refused: Redis is behind this instance (lost writes); a new epoch follows",
              {{"instance", key}});
    throw StoreError(StoreErrorKind::kBehind, "Redis lost events this instance recorded");
  }
  log::warn("append refused by the fence; stepping down", {{"instance", key}, {"why", *refused}});
  throw StoreError(StoreErrorKind::kFenced, "append refused by Redis: " + *refused);
}

void RedisStore::touch(const std::string& key, std::int64_t fetched_ms) noexcept {
  {
    MutexLock lock(mu_);
    auto k = keys_.find(key);
    if (k == keys_.end() || !k->second.leader) return;
    if (fetched_ms - k->second.touched_ms < kRedisTouchEveryMs) return;
    k->second.touched_ms = fetched_ms;
  }
  InstanceKeys ks(options_.prefix, key);
  try {
    post([ks, fetched_ms](RedisConnection* c) {
      if (c == nullptr) return;
      try {
        c->command({"HSET", ks.meta, "fetched_ms", std::to_string(fetched_ms)});
      } catch (const RedisError&) {
      }
    });
  } catch (const std::exception&) {
  }
}

void RedisStore::release(const std::string& key, std::int64_t expires_ms) noexcept {
  std::string token;
  {
    MutexLock lock(mu_);
    auto k = keys_.find(key);
    if (k == keys_.end()) return;
    token = k->second.token;
    keys_.erase(k);
  }
  try {
    post(release_job(key, token, expires_ms));
  } catch (const std::exception&) {
  }
}

void RedisStore::follow(const std::string& key, stream::Follower* f) {
  MutexLock lock(mu_);
  auto k = keys_.find(key);
  if (k != keys_.end()) k->second.follower = f;
}

void RedisStore::unfollow(const std::string& key, stream::Follower* f) noexcept {
  MutexLock calls(call_mu_);
  MutexLock lock(mu_);
  auto k = keys_.find(key);
  if (k != keys_.end() && k->second.follower == f) k->second.follower = nullptr;
}

}  // namespace pb::cluster
