// Connection slots per upstream origin ("scheme://host:port"): at most `cap`
// requests in flight to one origin at a time; the rest wait in a queue in
// arrival order. The cap of an origin is the smallest
// max_connections_per_host among the streams that poll it, so one stream
// that asks to spare a backend is obeyed by all its neighbours.
//
// Slots count requests, so they bound connections too: curl opens a new
// connection only for a request that finds no idle one, so an origin never
// has more than `cap` connections (fewer with HTTP/2, which multiplexes).
//
// Not thread-safe: the scheduler's mutex guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace pb::upstream {

class HostSlots {
 public:
  // Whatever identifies a waiting request to the caller.
  using Ticket = std::pair<const void*, std::uint64_t>;

  // A stream with this cap now polls / no longer polls `origin`.
  void add_user(const std::string& origin, std::size_t cap);
  void remove_user(const std::string& origin, std::size_t cap);

  // Takes a slot if one is free.
  bool try_acquire(const std::string& origin);
  void release(const std::string& origin);
  // Waits for a slot (the caller retries with next_waiting() after a release).
  void enqueue(const std::string& origin, Ticket ticket);
  // The longest-waiting ticket of `origin` if a slot is free, which is then
  // taken for it; the caller skips tickets that are no longer valid by
  // calling release() and next_waiting() again.
  std::optional<Ticket> next_waiting(const std::string& origin);

  std::size_t cap(const std::string& origin) const;
  std::size_t in_flight(const std::string& origin) const;
  std::size_t waiting(const std::string& origin) const;

 private:
  struct Origin {
    std::map<std::size_t, std::size_t> caps;  // cap -> streams with it
    std::size_t in_flight = 0;
    std::deque<Ticket> waiting;
  };
  std::size_t cap_of(const Origin& o) const;

  std::unordered_map<std::string, Origin> origins_;
};

}  // namespace pb::upstream
