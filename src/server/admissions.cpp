#include "server/admissions.h"

#include <algorithm>

namespace pb::server {
namespace {

// Entries kept before closed ones are first pruned.
constexpr std::size_t kMinPruneSize = 64;

}  // namespace

std::uint64_t Admissions::generation() const {
  MutexLock lock(mu_);
  return generation_;
}

bool Admissions::add(const std::shared_ptr<Admission>& admission) {
  MutexLock lock(mu_);
  if (open_.size() >= std::max(kMinPruneSize, 2 * pruned_size_)) {
    open_.erase(std::remove_if(open_.begin(), open_.end(),
                               [](const std::weak_ptr<Admission>& w) { return w.expired(); }),
                open_.end());
    pruned_size_ = open_.size();
  }
  open_.push_back(admission);
  return admission->generation == generation_;
}

std::vector<std::shared_ptr<Admission>> Admissions::begin_recheck() {
  std::vector<std::shared_ptr<Admission>> out;
  MutexLock lock(mu_);
  ++generation_;
  std::vector<std::weak_ptr<Admission>> kept;
  kept.reserve(open_.size());
  for (auto& w : open_) {
    if (auto a = w.lock()) {
      out.push_back(std::move(a));
      kept.push_back(std::move(w));
    }
  }
  open_ = std::move(kept);
  pruned_size_ = open_.size();
  return out;
}

}  // namespace pb::server
