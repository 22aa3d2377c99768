// RedisStore's poll requests (docs/cluster.md, "Poll requests"): a poll
// asked of a process that does not hold the instance's lease, for example
// a backend's webhook that the load balancer sent to any instance, goes to
// the holder as an entry of the P:polls Redis Stream; the holder polls and,
// when the caller waits, answers with an entry of its own.
//
// Threads: request_poll() from an HTTP worker; on_poll_entry() from
// pb-redis-follow; the answer's callback from a poll's processing thread;
// write_metrics() (which is here as the poll requests' counters are) from
// an HTTP worker.
#include <ostream>

#include "cluster/redis_store.h"

namespace pb::cluster {

using SteadyClock = std::chrono::steady_clock;

void RedisStore::add_poll_entry(const RedisConnection::Args& fields) {
  RedisConnection::Args args = {"XADD", polls_key_, "MAXLEN", "~", std::to_string(kPollsKept), "*"};
  args.insert(args.end(), fields.begin(), fields.end());
  post([args = std::move(args)](RedisConnection* c) {
    if (c == nullptr) return;
    try {
      c->command(args);
    } catch (const RedisError&) {
    }
  });
}

bool RedisStore::request_poll(const std::string& key, std::chrono::milliseconds wait) {
  std::string id;
  {
    MutexLock lock(mu_);
    if (!unavailable_.empty()) return false;
    id = options_.owner + "/" + std::to_string(++next_request_);
    ++poll_requests_sent_;
    if (wait.count() > 0) poll_waits_[id] = false;
  }
  add_poll_entry({"a", key, "r", id, "w", wait.count() > 0 ? "1" : "0"});
  if (wait.count() <= 0) return true;
  const auto deadline = SteadyClock::now() + wait;
  MutexLock lock(mu_);
  while (!poll_waits_[id] && !stopping_) {
    if (!polled_cv_.wait_until(mu_, deadline)) break;
  }
  const bool polled = poll_waits_[id];
  poll_waits_.erase(id);
  return polled;
}

void RedisStore::on_poll_requests(PollRequests poll) {
  MutexLock lock(handler_mu_);
  poll_handler_ = std::move(poll);
}

void RedisStore::on_poll_entry(const EventFollower::Fields& f) {
  auto field = [&f](const char* name) {
    auto it = f.find(name);
    return it == f.end() ? std::string() : it->second;
  };
  if (const std::string answered = field("d"); !answered.empty()) {
    {
      MutexLock lock(mu_);
      auto w = poll_waits_.find(answered);
      if (w == poll_waits_.end()) return;  // another process's, or given up
      w->second = true;
    }
    polled_cv_.notify_all();
    return;
  }
  const std::string key = field("a");
  const std::string id = field("r");
  {
    MutexLock lock(mu_);
    auto k = keys_.find(key);
    // Only the holder answers (one that has just won the lease polls once
    // it has caught up).
    if (k == keys_.end() || k->second.token.empty()) return;
    ++poll_requests_served_;
  }
  std::function<void()> done = [] {};
  if (field("w") == "1") done = [this, id] { add_poll_entry({"d", id}); };
  MutexLock lock(handler_mu_);
  if (poll_handler_) poll_handler_(key, std::move(done));
}

void RedisStore::write_metrics(std::ostream& o) const {
  MutexLock lock(mu_);  // location() takes no lock of this store's
  std::size_t leases = 0;
  for (const auto& [address, k] : keys_) leases += k.leader ? 1 : 0;
  o << "# HELP pollbridge_cluster_redis_up Whether the shared store (state.redis) is reachable.\n"
       "# TYPE pollbridge_cluster_redis_up gauge\n"
       "pollbridge_cluster_redis_up "
    << (unavailable_.empty() ? 1 : 0)
    << "\n# HELP pollbridge_cluster_leases_held Stream instances this process polls (it "
       "holds their poll lease).\n"
       "# TYPE pollbridge_cluster_leases_held gauge\n"
       "pollbridge_cluster_leases_held "
    << leases
    << "\n# HELP pollbridge_cluster_instances Stream instances this process has, polled "
       "here or followed.\n"
       "# TYPE pollbridge_cluster_instances gauge\n"
       "pollbridge_cluster_instances "
    << keys_.size()
    << "\n# HELP pollbridge_cluster_fenced_appends_total Appends the fence refused (this "
       "process had lost its lease).\n"
       "# TYPE pollbridge_cluster_fenced_appends_total counter\n"
       "pollbridge_cluster_fenced_appends_total "
    << fenced_
    << "\n# HELP pollbridge_cluster_lost_writes_total New epochs this process started because "
       "Redis had lost events it recorded (a failover to a replica that lagged).\n"
       "# TYPE pollbridge_cluster_lost_writes_total counter\n"
       "pollbridge_cluster_lost_writes_total "
    << lost_writes_
    << "\n# HELP pollbridge_cluster_poll_requests_total Poll requests sent to the lease "
       "holder, and served for other processes.\n"
       "# TYPE pollbridge_cluster_poll_requests_total counter\n"
       "pollbridge_cluster_poll_requests_total{direction=\"sent\"} "
    << poll_requests_sent_ << "\npollbridge_cluster_poll_requests_total{direction=\"served\"} "
    << poll_requests_served_ << '\n';
  // The master's address only (never the URL: it may hold the password).
  const Location where = location();
  o << "# HELP pollbridge_cluster_failovers_total Times the Redis master changed (Sentinel "
       "failovers seen by this process).\n"
       "# TYPE pollbridge_cluster_failovers_total counter\n"
       "pollbridge_cluster_failovers_total "
    << where.failovers << '\n';
  if (!where.address.empty()) {
    o << "# HELP pollbridge_cluster_redis_master The Redis master this process writes to now "
         "(host:port).\n"
         "# TYPE pollbridge_cluster_redis_master gauge\n"
         "pollbridge_cluster_redis_master{address=\""
      << where.address << "\"} 1\n";
  }
}

}  // namespace pb::cluster
