#include "support/redis_sentinel.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include "support/redis_server.h"

namespace pb::testing {

int free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

RedisSentinel::RedisSentinel(const std::string& name, int master_port, int quorum, Timing timing)
    : name_(name), master_port_(master_port), quorum_(quorum), timing_(timing) {
  char tmpl[] = "/tmp/pb-sentinel-XXXXXX";
  dir_ = mkdtemp(tmpl);
  port_ = free_loopback_port();
  // Written once: Sentinel rewrites it with what it learns (replicas, the
  // other sentinels, the current epoch), which a restart then keeps.
  std::ofstream conf(dir_ + "/sentinel.conf");
  conf << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_ << "\nlogfile " << dir_
       << "/sentinel.log\n"
       << "sentinel monitor " << name_ << " 127.0.0.1 " << master_port_ << ' ' << quorum_ << '\n'
       << "sentinel down-after-milliseconds " << name_ << ' ' << timing_.down_after_ms << '\n'
       << "sentinel failover-timeout " << name_ << ' ' << timing_.failover_timeout_ms << '\n'
       << "sentinel parallel-syncs " << name_ << " 1\n";
  conf.close();
  start();
}

RedisSentinel::~RedisSentinel() {
  kill();
  std::string cmd = "rm -rf '" + dir_ + "'";
  if (std::system(cmd.c_str()) != 0) {
  }
}

void RedisSentinel::start() {
  ASSERT_LT(pid_, 0) << "already running";
  std::string conf = dir_ + "/sentinel.conf";
  pid_ = fork();
  if (pid_ == 0) {
    std::vector<std::string> args = {RedisServer::kBinary, conf, "--sentinel"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(RedisServer::kBinary, argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (command({"PING"}) == "PONG") return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL() << "sentinel exited at start; see " << dir_ << "/sentinel.log";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << "sentinel did not answer PING on port " << port_;
}

void RedisSentinel::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string RedisSentinel::master() const {
  std::string r = command({"SENTINEL", "get-master-addr-by-name", name_});
  auto nl = r.find('\n');
  if (nl == std::string::npos) return "";
  return r.substr(0, nl) + ":" + r.substr(nl + 1);
}

std::string RedisSentinel::log_tail(std::size_t lines) const {
  return file_tail(dir_ + "/sentinel.log", lines);
}

std::string RedisSentinel::command(const std::vector<std::string>& args) const {
  timeval tv{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
  if (c == nullptr || c->err) {
    if (c) redisFree(c);
    return "(unreachable)";
  }
  redisSetTimeout(c, tv);
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& s : args) {
    argv.push_back(s.data());
    lens.push_back(s.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
  std::string out;
  if (r == nullptr) {
    out = "(unreachable)";
  } else if (r->type == REDIS_REPLY_ARRAY) {
    for (std::size_t i = 0; i < r->elements; ++i) {
      const redisReply* e = r->element[i];
      out += (i ? "\n" : "") + (e->str ? std::string(e->str, e->len) : std::to_string(e->integer));
    }
  } else if (r->type == REDIS_REPLY_INTEGER) {
    out = std::to_string(r->integer);
  } else if (r->str) {
    out = std::string(r->str, r->len);
  }
  if (r) freeReplyObject(r);
  redisFree(c);
  return out;
}

}  // namespace pb::testing
