// Parked connections on the loop (see connection_loop.h, "Parking"): a
// request whose handler waits for something slow (an auth: upstream
// admission) waits here without a thread, then runs again on a worker.
#include <sys/epoll.h>

#include <algorithm>
#include <utility>

#include "common/park_signal.h"
#include "log/refusal.h"
#include "server/connection.h"
#include "server/connection_loop.h"
#include "server/error_response.h"
#include "server/worker_pool.h"

namespace pb::server {

void ConnectionLoop::park(Connection& c, Job& job, Clock::time_point now) {
  loop_thread_.check();
  if (job.park_kind == ParkKind::kAdmission && !c.admission_slot) {
    const AddressBytes client = client_prefix(c.peer.bytes, options_.ipv6_prefix);
    std::uint32_t& n = pending_[client];
    if (n >= options_.max_pending_admissions_per_client) {
      if (n == 0) pending_.erase(client);
      counters_->refused_pending.fetch_add(1, std::memory_order_relaxed);
      log::refused("server.max_pending_admissions_per_client", 429, c.peer.ip());
      counters_->count_reject(429);
      c.in.clear();
      c.close_after = true;
      c.rejected = true;
      respond(c,
              error_response(429,
                             "too many admissions from this client are waiting for their "
                             "upstream (server.max_pending_admissions_per_client)",
                             "too_many_pending_admissions"),
              now);
      return;
    }
    ++n;
    c.admission_slot = true;
  }
  counters_->parks.fetch_add(1, std::memory_order_relaxed);
  c.parked_request = std::move(job.request);
  c.parked_close = job.close;
  c.ready = std::move(job.ready);
  c.admission_deadline = job.park_until;
  c.parked_kind = job.park_kind;
  list_parked(c);
  // Only the client leaving matters meanwhile: bytes it sends (a pipelined
  // request) wait in the socket for this request's answer.
  watch(c, EPOLLRDHUP);
}

void ConnectionLoop::check_parked(Clock::time_point now) {
  loop_thread_.check();
  // Nothing a long-poll waits for happened and no deadline came: only
  // admissions (their upstream answers on no signal) need a look.
  const std::uint64_t epoch = park_epoch();
  if (epoch == parked_epoch_ && admission_parks_ == 0 && now < parked_due_) return;
  parked_epoch_ = epoch;  // read before looking: a later change looks again
  parked_due_ = Clock::time_point::max();
  for (std::size_t i = 0; i < parked_.size();) {
    Connection& c = *parked_[i];
    bool stays = true;
    if (now >= c.admission_deadline || (c.ready && c.ready())) {
      // Taken out of parked_ (index i now holds another) unless it waits on.
      if (c.parked_kind == ParkKind::kLongPoll && c.long_poll) {
        stays = end_long_poll_wait(c, now);
      } else {
        rerun(c);
        stays = false;
      }
    }
    if (stays) {
      parked_due_ = std::min(parked_due_, c.admission_deadline);
      ++i;
    }
  }
}

void ConnectionLoop::rerun(Connection& c) {
  unlist_parked(c);
  unwatch(c);
  unlink_held(c);
  set_state(c, kHandling);
  handling_.fetch_add(1);
  auto* job = new Job;
  job->conn = &c;
  job->request = std::move(c.parked_request);
  job->close = c.parked_close || stopping_;
  job->admission_deadline = c.admission_deadline;
  job->parked_kind = c.parked_kind;
  c.parked_request.clear();
  c.ready = nullptr;  // what it holds (an instance) is not kept past the wait
  pool_.post([this, job] { run_request(job); });
}

void ConnectionLoop::list_parked(Connection& c) {
  c.parked_at = parked_.size();
  parked_.push_back(&c);
  if (c.parked_kind == ParkKind::kAdmission) ++admission_parks_;
  parked_due_ = std::min(parked_due_, c.admission_deadline);
}

void ConnectionLoop::unlist_parked(Connection& c) {
  if (c.parked_at == Connection::kNotParked) return;
  if (c.parked_kind == ParkKind::kAdmission) --admission_parks_;
  Connection* last = parked_.back();
  parked_[c.parked_at] = last;
  last->parked_at = c.parked_at;
  parked_.pop_back();
  c.parked_at = Connection::kNotParked;
}

void ConnectionLoop::release_admission(Connection& c) {
  if (!c.admission_slot) return;
  c.admission_slot = false;
  auto it = pending_.find(client_prefix(c.peer.bytes, options_.ipv6_prefix));
  if (it != pending_.end() && --it->second == 0) pending_.erase(it);
}

}  // namespace pb::server
