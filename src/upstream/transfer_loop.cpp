#include "upstream/transfer_loop.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "upstream/fetcher.h"

namespace pb::upstream {

TransferLoop::TransferLoop(Driver& driver, Clock& clock) : driver_(driver), clock_(clock) {
  init_curl();
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    throw std::runtime_error(std::string("upstream loop: ") + std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  clock_waker_ = clock_.on_advance([this] { wake(); });
}

TransferLoop::~TransferLoop() {
  clock_waker_.reset();
  stop();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void TransferLoop::start() {
  if (thread_.joinable()) return;
  stopping_.store(false);
  multi_ = curl_multi_init();
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &TransferLoop::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &TransferLoop::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  // The number of concurrent requests per upstream host is the scheduler's
  // business (a request queued inside curl would already run its timeout);
  // curl's own per-host cap stays off.
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "pb-upstream");
}

void TransferLoop::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  wake();
  thread_.join();
}

void TransferLoop::wake() {
  std::uint64_t one = 1;
  // A full counter (impossible in practice) still leaves the fd readable.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void TransferLoop::begin(CURL* easy) {
  in_flight_.insert(easy);
  curl_multi_add_handle(multi_, easy);
}

void TransferLoop::abort(CURL* easy) {
  if (in_flight_.erase(easy) == 0) return;
  curl_multi_remove_handle(multi_, easy);
}

int TransferLoop::on_socket(CURL* /*easy*/, curl_socket_t fd, int what, void* self,
                            void* /*socket_data*/) {
  auto* loop = static_cast<TransferLoop*>(self);
  if (what == CURL_POLL_REMOVE) {
    auto it = loop->watched_.find(fd);
    if (it != loop->watched_.end()) {
      // The socket may be closed already, which removed it from epoll.
      epoll_ctl(loop->epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      loop->watched_.erase(it);
    }
    return 0;
  }
  epoll_event ev{};
  ev.data.fd = fd;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) ev.events |= EPOLLIN;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) ev.events |= EPOLLOUT;
  const bool fresh = loop->watched_.emplace(fd, true).second;
  if (epoll_ctl(loop->epoll_fd_, fresh ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) != 0) {
    // A descriptor number reused after curl closed the old socket without
    // telling (it tells, but be safe): register it afresh.
    epoll_ctl(loop->epoll_fd_, fresh ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
  }
  return 0;
}

int TransferLoop::on_timer(CURLM* /*multi*/, long timeout_ms, void* self) {
  auto* loop = static_cast<TransferLoop*>(self);
  if (timeout_ms < 0) {
    loop->curl_deadline_.reset();
  } else {
    loop->curl_deadline_ = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  }
  return 0;
}

void TransferLoop::act(curl_socket_t fd, int flags) {
  int running = 0;
  curl_multi_socket_action(multi_, fd, flags, &running);
}

void TransferLoop::collect_done() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    const CURLcode result = msg->data.result;
    curl_multi_remove_handle(multi_, easy);
    in_flight_.erase(easy);
    driver_.on_done(easy, result);
  }
}

void TransferLoop::run() {
  std::vector<epoll_event> events(kMaxEpollEvents);
  // Rounded up: waking a little late is fine, spinning until the deadline is
  // not.
  auto wait_ms = [](SteadyClock::duration ahead) {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(ahead).count();
    return static_cast<int>(std::clamp<long long>(ms, 0, 60000));
  };
  while (!stopping_.load()) {
    std::optional<SteadyClock::time_point> next = driver_.on_turn(clock_.now());
    const auto real_now = SteadyClock::now();
    // Every turn looks at the sockets, even when curl's timer has already
    // expired (then without blocking): a timer that curl keeps setting to
    // "now" (a handle just added, a transfer in progress) must not starve
    // the transfers that are waiting for their socket to be read.
    int timeout = -1;  // until woken
    if (next) {
      if (auto bound = clock_.wait_bound(*next)) timeout = wait_ms(*bound);
    }
    if (curl_deadline_) {
      const int curl_ms = wait_ms(*curl_deadline_ - real_now);
      timeout = timeout < 0 ? curl_ms : std::min(timeout, curl_ms);
    }
    int n = epoll_wait(epoll_fd_, events.data(), kMaxEpollEvents, timeout);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        std::uint64_t count = 0;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      int flags = 0;
      if (events[i].events & (EPOLLIN | EPOLLHUP)) flags |= CURL_CSELECT_IN;
      if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
      if (events[i].events & EPOLLERR) flags |= CURL_CSELECT_ERR;
      act(fd, flags);
    }
    if (curl_deadline_ && *curl_deadline_ <= SteadyClock::now()) {
      curl_deadline_.reset();
      act(CURL_SOCKET_TIMEOUT, 0);
    }
    collect_done();
  }
  for (CURL* easy : in_flight_) curl_multi_remove_handle(multi_, easy);
  in_flight_.clear();
  curl_multi_cleanup(multi_);
  multi_ = nullptr;
  watched_.clear();
  curl_deadline_.reset();
}

}  // namespace pb::upstream
