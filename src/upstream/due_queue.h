// The poll schedule: a min-heap of due times, so that finding the next poll
// costs O(log n) however many streams there are (the old scheduler scanned
// every stream on every turn). Entries are never updated in place: a new due
// time is pushed with a fresh token and the old item is skipped when it
// surfaces (the caller says which tokens are current). The heap is rebuilt
// when stale items outnumber live ones.
//
// Not thread-safe: the scheduler's mutex guards it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace pb::upstream {

class DueQueue {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Item {
    TimePoint due;
    const void* key;
    std::uint64_t token;
  };
  // True if `item` is still what its key is waiting for.
  using Current = std::function<bool(const Item&)>;

  void push(TimePoint due, const void* key, std::uint64_t token);
  // The earliest current item due at or before `now`, removed; nullopt if none.
  std::optional<Item> pop_due(TimePoint now, const Current& current);
  // When the earliest current item is due.
  std::optional<TimePoint> next_due(const Current& current);
  // Drops stale items if they are most of the heap; `live` = current items.
  void compact(std::size_t live, const Current& current);
  std::size_t size() const { return heap_.size(); }

 private:
  void drop_stale_top(const Current& current);

  std::vector<Item> heap_;
};

}  // namespace pb::upstream
