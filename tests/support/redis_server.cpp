#include "support/redis_server.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <fstream>
#include <thread>

namespace pb::testing {
namespace {

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

std::string text_of(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (std::size_t i = 0; i < r->elements; ++i) {
        out += (i ? "\n" : "") + text_of(r->element[i]);
      }
      return out;
    }
    default:
      return "?";
  }
}

}  // namespace

bool RedisServer::available() {
  return access(kBinary, X_OK) == 0;
}

RedisServer::RedisServer(std::string password, std::vector<std::string> extra)
    : password_(std::move(password)), extra_(std::move(extra)) {
  char tmpl[] = "/tmp/pb-redis-XXXXXX";
  dir_ = mkdtemp(tmpl);
  port_ = free_port();
  start();
}

RedisServer::~RedisServer() {
  kill();
  std::string cmd = "rm -rf '" + dir_ + "'";
  if (std::system(cmd.c_str()) != 0) {
  }
}

std::string RedisServer::url() const {
  return "redis://" + (password_.empty() ? std::string() : ":" + password_ + "@") +
         "127.0.0.1:" + std::to_string(port_) + "/0";
}

void RedisServer::start() {
  ASSERT_LT(pid_, 0) << "already running";
  std::vector<std::string> args = {
      kBinary,  "--port",    std::to_string(port_), "--bind", "127.0.0.1",
      "--save", "",          "--appendonly",        "no",     "--dir",
      dir_,     "--logfile", dir_ + "/redis.log"};
  if (!password_.empty()) {
    args.push_back("--requirepass");
    args.push_back(password_);
  }
  args.insert(args.end(), extra_.begin(), extra_.end());
  pid_ = fork();
  if (pid_ == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(kBinary, argv.data());
    _exit(127);
  }
  // Ready once it answers PING (a condition, awaited; bounded).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (command({"PING"}) == "PONG") return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL() << "redis-server exited at start; see " << dir_ << "/redis.log";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << "redis-server did not answer PING on port " << port_;
}

void RedisServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void RedisServer::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

std::string file_tail(const std::string& path, std::size_t lines) {
  std::ifstream in(path);
  std::deque<std::string> kept;
  for (std::string line; std::getline(in, line);) {
    kept.push_back(std::move(line));
    if (kept.size() > lines) kept.pop_front();
  }
  std::string out;
  for (const auto& l : kept) out += l + '\n';
  return out;
}

std::string RedisServer::log_tail(std::size_t lines) const {
  return file_tail(dir_ + "/redis.log", lines);
}

std::string RedisServer::command(const std::vector<std::string>& args) const {
  timeval tv{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
  if (c == nullptr || c->err) {
    if (c) redisFree(c);
    return "(unreachable)";
  }
  redisSetTimeout(c, tv);
  auto run = [c](const std::vector<std::string>& a) -> std::string {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& s : a) {
      argv.push_back(s.data());
      lens.push_back(s.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(a.size()), argv.data(), lens.data()));
    if (r == nullptr) return "(unreachable)";
    std::string out = text_of(r);
    freeReplyObject(r);
    return out;
  };
  if (!password_.empty()) run({"AUTH", password_});
  std::string out = run(args);
  redisFree(c);
  return out;
}

}  // namespace pb::testing
