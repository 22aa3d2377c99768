#include "core/user_key.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace pb::core {

std::string random_user_key() {
  unsigned char buf[kUserKeyBytes];
  if (RAND_bytes(buf, sizeof buf) != 1)
    throw std::runtime_error("no random bytes for the user key");
  return std::string(reinterpret_cast<const char*>(buf), sizeof buf);
}

std::string load_or_make_user_key(const std::string& dir) {
  const std::string path = dir + "/user-key";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    // Written to a temporary name and linked into place: two processes
    // starting at once agree on one key (link fails for the second).
    std::string key = random_user_key();
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) throw std::runtime_error(path + ": cannot create: " + std::strerror(errno));
    bool ok = ::write(out, key.data(), key.size()) == static_cast<ssize_t>(key.size()) &&
              ::fsync(out) == 0;
    ::close(out);
    if (ok && ::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) ok = false;
    ::unlink(tmp.c_str());
    if (!ok) throw std::runtime_error(path + ": cannot write: " + std::strerror(errno));
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0) throw std::runtime_error(path + ": cannot read: " + std::strerror(errno));
  char buf[kUserKeyBytes + 1];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n != static_cast<ssize_t>(kUserKeyBytes)) {
    throw std::runtime_error(path + ": not a user key (expected " + std::to_string(kUserKeyBytes) +
                             " bytes); delete it to make a new one (saved per-user state is "
                             "then unreachable)");
  }
  return std::string(buf, kUserKeyBytes);
}

}  // namespace pb::core
