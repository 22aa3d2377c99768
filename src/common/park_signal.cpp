#include "common/park_signal.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "common/mutex.h"

namespace pb {
namespace {

struct Listeners {
  Mutex mu;
  std::vector<int> fds PB_GUARDED_BY(mu);
};

std::atomic<std::uint64_t> g_epoch{0};

Listeners& listeners() {
  static Listeners* l = new Listeners;  // never destroyed: used until exit
  return *l;
}

}  // namespace

std::uint64_t park_epoch() {
  return g_epoch.load(std::memory_order_acquire);
}

void park_signal() {
  g_epoch.fetch_add(1, std::memory_order_acq_rel);
  Listeners& l = listeners();
  MutexLock lock(l.mu);
  for (int fd : l.fds) {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
  }
}

void add_park_listener(int eventfd) {
  Listeners& l = listeners();
  MutexLock lock(l.mu);
  l.fds.push_back(eventfd);
}

void remove_park_listener(int eventfd) {
  Listeners& l = listeners();
  MutexLock lock(l.mu);
  l.fds.erase(std::remove(l.fds.begin(), l.fds.end(), eventfd), l.fds.end());
}

}  // namespace pb
