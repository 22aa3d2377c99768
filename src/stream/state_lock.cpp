#include "stream/state_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "stream/store.h"

namespace pb::stream {

StateDirLock::StateDirLock(const std::string& dir) : path_(dir + "/pollbridge.lock") {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw StoreError(StoreErrorKind::kReadOnly,
                     "state.dir " + dir + " cannot be created: " + ec.message());
  }
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw StoreError(StoreErrorKind::kReadOnly, "state.dir " + dir + " is not writable: " + path_ +
                                                    ": " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {0};
    ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      throw StoreError(StoreErrorKind::kBusy,
                       "state.dir " + dir + " is in use by another pollbridge process" +
                           (pid.empty() ? std::string() : " (pid " + pid + ")") +
                           "; give each process its own state.dir");
    }
    throw StoreError(StoreErrorKind::kOther,
                     "cannot lock state.dir " + dir + ": " + std::strerror(err));
  }
  std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) < 0) {
    // The lock is held; the pid is only for messages.
  }
}

StateDirLock::~StateDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace pb::stream
