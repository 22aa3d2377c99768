// How the processes that share a state store (Redis, src/cluster) divide
// the work: which one polls an instance (its lease), how the others follow
// what it records, poll requests that reach a process not holding the lease,
// deployment-wide secrets, and whether the shared store can be reached. A
// store owned by one process pairs with stream::LocalCoordinator, which
// says yes to everything and shares nothing. Persistence itself is
// stream::Store (store.h); the two are handed around together as
// stream::State (state.h).
//
// Keys are those of the paired Store: follow(), may_poll() and
// listened_elsewhere() are about a key this process owns there (between
// its load()/reset() and its release()); for any other key they do nothing
// and answer no.
//
// Threads: every method from any thread. Follower callbacks come from the
// coordinator's own threads (see Follower).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "stream/store.h"

namespace pb::stream {

// What a shared store tells the owner of a key about the state other
// processes recorded. Implemented by stream::Stream. Called from the
// coordinator's own threads, never under a lock that Store::append() needs,
// and never after unfollow() has returned.
class Follower {
 public:
  virtual ~Follower() = default;
  struct Position {
    std::string epoch;
    std::uint64_t seq = 0;      // last event held
    std::uint64_t doc_seq = 0;  // event that made the document held
    // The event at seq when held (null otherwise): a shared store checks
    // that it still holds this very event (lost writes, docs/cluster.md).
    EventPtr last;
  };
  virtual Position position() const = 0;
  // Events another process recorded. `state.history` holds the events after
  // position().seq (oldest first; possibly with a gap when the store
  // trimmed them), `state.doc`/`doc_text` the document at `state.doc_seq`
  // when it is newer than the one held. Another epoch replaces everything.
  virtual void on_remote(const PersistedState& state) = 0;
  // The store cannot be reached (ok false, with why), or can again.
  virtual void on_store_health(bool ok, const std::string& why) = 0;
  // Clients connected to this process (for the cluster's presence).
  virtual std::int64_t local_clients() const = 0;
};

class Coordinator {
 public:
  virtual ~Coordinator() = default;

  // True when other processes poll keys of the paired store too: what is
  // loaded is what the cluster's poller saw, its status included.
  virtual bool shared() const = 0;

  // The owner of `key` hears what other processes record, until
  // unfollow(), which waits for a call in progress.
  virtual void follow(const std::string& key, Follower* f) = 0;
  virtual void unfollow(const std::string& key, Follower* f) noexcept = 0;
  // False while another process holds the key's poll lease: only a process
  // that may poll appends (Store::append() of one that may not is refused
  // with kFenced).
  virtual bool may_poll(const std::string& key) const = 0;
  // True while another process has clients of `key`.
  virtual bool listened_elsewhere(const std::string& key) const = 0;

  // Asks the process that holds `key`'s poll lease to poll it now (a
  // webhook's POST /streams/{name}/poll reached another process). With
  // `wait` above zero, true once that poll has finished, false when `wait`
  // ran out or the store cannot be reached; with zero, true once the
  // request is on its way. False when no other process exists to ask.
  virtual bool request_poll(const std::string& key, std::chrono::milliseconds wait) = 0;
  // Where other processes' requests arrive: `poll(key, done)` polls a key
  // this process holds and calls `done` once that poll has finished (from
  // any thread). Set by the keys' owner before it loads any; cleared with
  // null before it goes, which waits for a call in progress.
  using PollRequests = std::function<void(const std::string& key, std::function<void()> done)>;
  virtual void on_poll_requests(PollRequests poll) = 0;

  // The value of the deployment-wide secret `name`: the one another
  // process set first, or `fresh` if none had (then `fresh` is it). Every
  // process of a cluster gets the same value (the HMAC key of per-user
  // instances, so that a user's instance has one key in the whole
  // cluster). Returns only a value a failover cannot lose (acknowledged by
  // a replica, where there are replicas). Throws StoreError kIo when the
  // shared store cannot be reached or no replica acknowledged in time.
  virtual std::string shared_secret(const std::string& name, const std::string& fresh) = 0;

  // Why the shared store cannot be reached ("" while it can).
  virtual std::string unavailable() const = 0;
  // Where the shared store is now (host:port, never credentials: a Redis
  // master found through Sentinel moves) and how often it moved; an empty
  // address for a store of this process only.
  struct Location {
    std::string address;
    std::uint64_t failovers = 0;
  };
  virtual Location location() const { return {}; }
  // Prometheus text of the coordinator's own metrics (leases, fenced
  // appends, whether the shared store is reachable).
  virtual void write_metrics(std::ostream& out) const = 0;
};

}  // namespace pb::stream
