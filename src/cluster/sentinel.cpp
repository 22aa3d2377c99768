#include "cluster/sentinel.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <sys/time.h>

#include <memory>
#include <vector>

#include "cluster/socket_timeout.h"
#include "log/log.h"

namespace pb::cluster {
namespace {

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;
struct ReplyDelete {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using OwnedReply = std::unique_ptr<redisReply, ReplyDelete>;

OwnedReply run(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return OwnedReply(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data())));
}

std::string text(const redisReply* r) {
  if (r == nullptr) return {};
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
      r->type == REDIS_REPLY_ERROR) {
    return std::string(r->str, r->len);
  }
  return {};
}

// A connection to a sentinel, authenticated when state.sentinel_password is
// set; null with `why` otherwise.
Context connect_sentinel(const config::RedisEndpoint& at, const std::string& password,
                         std::chrono::milliseconds timeout, std::string& why) {
  Context c(redisConnectWithTimeout(at.host.c_str(), at.port, to_timeval(timeout)));
  if (!c || c->err) {
    why = "cannot connect" + (c ? std::string(": ") + c->errstr : std::string());
    return nullptr;
  }
  redisSetTimeout(c.get(), to_timeval(timeout));
  if (!password.empty()) {
    OwnedReply r = run(c.get(), {"AUTH", password});
    if (!r) {
      why = "lost the connection";
      return nullptr;
    }
    if (r->type == REDIS_REPLY_ERROR) {
      // Redis' own text (WRONGPASS ...) holds no secret.
      why = "refused state.sentinel_password: " + text(r.get());
      return nullptr;
    }
  }
  return c;
}

bool same(const config::RedisEndpoint& a, const config::RedisEndpoint& b) {
  return a.host == b.host && a.port == b.port;
}

}  // namespace

Sentinel::Sentinel(config::RedisUrl url, std::chrono::milliseconds timeout,
                   std::function<void()> on_switch)
    : url_(std::move(url)), timeout_(timeout), on_switch_(std::move(on_switch)) {
  thread_ = std::thread([this] { subscribe_loop(); });
}

Sentinel::~Sentinel() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<config::RedisEndpoint> Sentinel::ask(std::size_t i, std::string& why) const {
  const config::RedisEndpoint& at = url_.sentinels.at(i);
  Context c = connect_sentinel(at, url_.sentinel_password, timeout_, why);
  if (!c) return std::nullopt;
  OwnedReply r = run(c.get(), {"SENTINEL", "get-master-addr-by-name", url_.master_name});
  if (!r) {
    why = "lost the connection";
    return std::nullopt;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    why = text(r.get());
    return std::nullopt;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
    why = "does not know a master named " + url_.master_name;
    return std::nullopt;
  }
  config::RedisEndpoint e;
  e.host = text(r->element[0]);
  try {
    e.port = std::stoi(text(r->element[1]));
  } catch (const std::exception&) {
    why = "answered a malformed address";
    return std::nullopt;
  }
  return e;
}

std::size_t Sentinel::preferred() const {
  MutexLock lock(mu_);
  return preferred_;
}

std::uint64_t Sentinel::found(const config::RedisEndpoint& master, std::size_t from) {
  bool changed = false;
  std::string before;
  {
    MutexLock lock(mu_);
    preferred_ = from;
    if (!master_) {
      master_ = master;
      log::info("Redis master found through Sentinel",
                {{"master", master.text()},
                 {"name", url_.master_name},
                 {"sentinel", url_.sentinels.at(from).text()}});
    } else if (!same(*master_, master)) {
      before = master_->text();
      master_ = master;
      ++failovers_;
      changed = true;
      // Bumped under the lock, so that a switch heard twice (by a
      // connection and by the subscription) counts once.
      generation_.fetch_add(1);
    }
  }
  if (changed) {
    log::warn("Redis master changed (Sentinel failover); reconnecting",
              {{"from", before}, {"to", master.text()}, {"name", url_.master_name}});
    if (on_switch_) on_switch_();
  }
  return generation_.load();
}

void Sentinel::switched(const config::RedisEndpoint& to) {
  std::size_t from;
  {
    MutexLock lock(mu_);
    from = preferred_;
  }
  found(to, from);
}

std::string Sentinel::master() const {
  MutexLock lock(mu_);
  return master_ ? master_->text() : std::string();
}

std::uint64_t Sentinel::failovers() const {
  MutexLock lock(mu_);
  return failovers_;
}

void Sentinel::subscribe_loop() {
  pthread_setname_np(pthread_self(), "pb-sentinel");
  std::size_t next = 0;
  bool reported = false;
  for (;;) {
    {
      MutexLock lock(mu_);
      if (stopping_) return;
    }
    const std::size_t i = next;
    next = (next + 1) % url_.sentinels.size();
    std::string why;
    Context c = connect_sentinel(url_.sentinels[i], url_.sentinel_password, timeout_, why);
    if (c) {
      OwnedReply r = run(c.get(), {"SUBSCRIBE", "+switch-master"});
      if (!r || r->type == REDIS_REPLY_ERROR) {
        why = r ? text(r.get()) : "lost the connection";
        c.reset();
      }
    }
    if (!c) {
      if (!reported) {
        log::warn("cannot subscribe to +switch-master on a sentinel; trying the next",
                  {{"sentinel", url_.sentinels[i].text()}, {"error", why}});
        reported = true;
      }
      MutexLock lock(mu_);
      cv_.wait_for(mu_, kSentinelRetry);
      continue;
    }
    reported = false;
    // Messages: ["message", "+switch-master", "<name> <old ip> <old port>
    // <new ip> <new port>"]. The socket is polled with a short timeout so
    // that stopping is prompt; hiredis reads only when data is there.
    for (;;) {
      {
        MutexLock lock(mu_);
        if (stopping_) return;
      }
      void* raw = nullptr;
      if (redisGetReplyFromReader(c.get(), &raw) != REDIS_OK) break;
      if (raw == nullptr) {
        pollfd p{c->fd, POLLIN, 0};
        int n = ::poll(&p, 1, 200);
        if (n < 0) break;
        if (n == 0) continue;
        if (redisBufferRead(c.get()) != REDIS_OK) break;
        continue;
      }
      OwnedReply m(static_cast<redisReply*>(raw));
      if (m->type != REDIS_REPLY_ARRAY || m->elements != 3 || text(m->element[0]) != "message") {
        continue;
      }
      const std::string body = text(m->element[2]);
      std::vector<std::string> parts;
      for (std::size_t at = 0; at <= body.size();) {
        std::size_t sp = body.find(' ', at);
        if (sp == std::string::npos) sp = body.size();
        parts.push_back(body.substr(at, sp - at));
        at = sp + 1;
      }
      if (parts.size() != 5 || parts[0] != url_.master_name) continue;
      config::RedisEndpoint to;
      to.host = parts[3];
      try {
        to.port = std::stoi(parts[4]);
      } catch (const std::exception&) {
        continue;
      }
      switched(to);
    }
    MutexLock lock(mu_);
    cv_.wait_for(mu_, kSentinelRetry);
  }
}

}  // namespace pb::cluster
