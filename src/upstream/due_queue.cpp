#include "upstream/due_queue.h"

#include <algorithm>

namespace pb::upstream {
namespace {

// Heap order for std::push_heap & co.: the earliest item on top.
bool later(const DueQueue::Item& a, const DueQueue::Item& b) {
  return a.due > b.due;
}

// Rebuilding costs O(n); below this size stale items are left to surface.
constexpr std::size_t kCompactMinimum = 64;

}  // namespace

void DueQueue::push(TimePoint due, const void* key, std::uint64_t token) {
  heap_.push_back({due, key, token});
  std::push_heap(heap_.begin(), heap_.end(), later);
}

void DueQueue::drop_stale_top(const Current& current) {
  while (!heap_.empty() && !current(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
}

std::optional<DueQueue::Item> DueQueue::pop_due(TimePoint now, const Current& current) {
  drop_stale_top(current);
  if (heap_.empty() || heap_.front().due > now) return std::nullopt;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Item item = heap_.back();
  heap_.pop_back();
  return item;
}

std::optional<DueQueue::TimePoint> DueQueue::next_due(const Current& current) {
  drop_stale_top(current);
  if (heap_.empty()) return std::nullopt;
  return heap_.front().due;
}

void DueQueue::compact(std::size_t live, const Current& current) {
  if (heap_.size() < kCompactMinimum || heap_.size() <= 2 * live) return;
  heap_.erase(
      std::remove_if(heap_.begin(), heap_.end(), [&](const Item& i) { return !current(i); }),
      heap_.end());
  std::make_heap(heap_.begin(), heap_.end(), later);
}

}  // namespace pb::upstream
