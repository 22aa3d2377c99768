#include "cluster/redis_connection.h"
#include "cluster/socket_timeout.h"

#include <sys/time.h>

#include <optional>

namespace pb::cluster {
namespace {

RedisConnection::Args eval_args(const char* verb, const std::string& body,
                                const RedisConnection::Args& keys,
                                const RedisConnection::Args& args) {
  RedisConnection::Args out;
  out.reserve(3 + keys.size() + args.size());
  out.push_back(verb);
  out.push_back(body);
  out.push_back(std::to_string(keys.size()));
  out.insert(out.end(), keys.begin(), keys.end());
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

}  // namespace

std::string error_of(const redisReply* r) {
  if (r == nullptr || r->type != REDIS_REPLY_ERROR) return {};
  return std::string(r->str, r->len);
}

std::string string_of(const redisReply* r) {
  if (r == nullptr) return {};
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
    return std::string(r->str, r->len);
  }
  if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
  return {};
}

long long integer_of(const redisReply* r) {
  if (r == nullptr) return 0;
  if (r->type == REDIS_REPLY_INTEGER) return r->integer;
  if (r->type == REDIS_REPLY_STRING) {
    try {
      return std::stoll(std::string(r->str, r->len));
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

RedisConnection::RedisConnection(config::RedisUrl url, std::chrono::milliseconds timeout,
                                 std::vector<const Script*> scripts,
                                 std::shared_ptr<Sentinel> sentinel)
    : url_(std::move(url)),
      timeout_(timeout),
      scripts_(std::move(scripts)),
      sentinel_(std::move(sentinel)) {
  if (url_.via_sentinel() && !sentinel_) throw RedisError("a sentinel URL needs a Sentinel");
}

RedisConnection::~RedisConnection() {
  close();
}

void RedisConnection::close() {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
  pending_ = 0;
}

void RedisConnection::fail(const std::string& what) {
  std::string detail = ctx_ != nullptr && ctx_->err ? std::string(": ") + ctx_->errstr : "";
  close();
  throw RedisError(what + detail);
}

void RedisConnection::set_timeout(std::chrono::milliseconds timeout) {
  timeout_ = timeout;
  if (ctx_ != nullptr) redisSetTimeout(ctx_, to_timeval(timeout_));
}

void RedisConnection::open(const std::string& host, int port, const std::string& shown) {
  ctx_ = redisConnectWithTimeout(host.c_str(), port, to_timeval(timeout_));
  if (ctx_ == nullptr) throw RedisError("cannot connect to " + shown);
  if (ctx_->err) fail("cannot connect to " + shown);
  if (redisSetTimeout(ctx_, to_timeval(timeout_)) != REDIS_OK) fail("cannot set the timeout");
  // This connection's generation until found() says otherwise (so that
  // the commands below do not close it again).
  if (sentinel_) generation_ = sentinel_->generation();
  if (!url_.password.empty()) {
    Args auth = {"AUTH"};
    if (!url_.user.empty()) auth.push_back(url_.user);
    auth.push_back(url_.password);
    Reply r = command(auth);
    if (!error_of(r.get()).empty()) {
      // Redis' own text (WRONGPASS ...) holds no secret; ours neither.
      std::string why = error_of(r.get());
      close();
      throw RedisError("authentication to " + shown + " refused: " + why);
    }
  }
}

void RedisConnection::open_master() {
  // Asked in turn, starting with the one that named the master last time.
  std::string tried;
  const std::size_t n = sentinel_->count(), first = sentinel_->preferred();
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (first + k) % n;
    std::string why;
    std::optional<config::RedisEndpoint> m = sentinel_->ask(i, why);
    if (!m) {
      tried += (tried.empty() ? "" : "; ") + std::string("sentinel ") + std::to_string(i + 1) +
               ": " + why;
      continue;
    }
    try {
      open(m->host, m->port, "master " + m->text());
      // A sentinel that has not seen the failover yet (or was given a
      // wrong config) may name a replica: writes there would fail or,
      // worse, be lost at the next resync.
      Reply role = command({"ROLE"});
      if (role->type != REDIS_REPLY_ARRAY || role->elements < 1 ||
          string_of(role->element[0]) != "master") {
        const std::string said = role->type == REDIS_REPLY_ARRAY && role->elements >= 1
                                     ? string_of(role->element[0])
                                     : error_of(role.get());
        close();
        throw RedisError(m->text() + " is not a master (ROLE: " + said + ")");
      }
      generation_ = sentinel_->found(*m, i);
      return;
    } catch (const RedisError& e) {
      close();
      tried += (tried.empty() ? "" : "; ") + std::string("sentinel ") + std::to_string(i + 1) +
               " named " + m->text() + ": " + e.what();
    }
  }
  throw RedisError("no sentinel of " + url_.redacted() + " named a reachable master (" + tried +
                   ")");
}

void RedisConnection::ensure() {
  if (ctx_ != nullptr && pending_ == 0 && sentinel_ && sentinel_->generation() != generation_) {
    close();  // the master changed since this connection was made (never mid-pipeline)
  }
  if (ctx_ != nullptr) return;
  if (sentinel_) {
    open_master();
  } else {
    open(url_.host, url_.port, url_.redacted());
  }
  for (const Script* s : scripts_) {
    // Loaded once per connection (a restarted Redis has none), so that
    // every later call, pipelined or not, is an EVALSHA.
    Reply r = command({"SCRIPT", "LOAD", s->text});
    if (string_of(r.get()) != s->sha1) {
      std::string why = error_of(r.get());
      close();
      throw RedisError("cannot load script " + s->name + ": " + why);
    }
  }
  if (url_.db != 0) {
    Reply r = command({"SELECT", std::to_string(url_.db)});
    if (!error_of(r.get()).empty()) {
      std::string why = error_of(r.get());
      close();
      throw RedisError("SELECT " + std::to_string(url_.db) + " refused: " + why);
    }
  }
}

void RedisConnection::append(const Args& args) {
  ensure();
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(ctx_, static_cast<int>(args.size()), argv.data(), lens.data()) !=
      REDIS_OK) {
    fail("cannot queue a command");
  }
  ++pending_;
}

Reply RedisConnection::read() {
  if (ctx_ == nullptr) throw RedisError("not connected");
  void* raw = nullptr;
  if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
    fail("lost the connection to " + url_.redacted());
  }
  if (pending_ > 0) --pending_;
  Reply r(static_cast<redisReply*>(raw));
  check_role_error(r.get());
  return r;
}

void RedisConnection::check_role_error(const redisReply* r) {
  if (!sentinel_ || r == nullptr || r->type != REDIS_REPLY_ERROR) return;
  const std::string err = error_of(r);
  for (const char* code : {"READONLY", "LOADING", "MASTERDOWN"}) {
    if (err.rfind(code, 0) == 0) {
      // No longer (or not yet) a master that takes writes: the next call
      // asks the sentinels again. Replies still queued are lost with it.
      close();
      return;
    }
  }
}

Reply RedisConnection::command(const Args& args) {
  append(args);
  return read();
}

void RedisConnection::append_eval(const Script& script, const Args& keys, const Args& args) {
  append(eval_args("EVALSHA", script.sha1, keys, args));
}

Reply RedisConnection::read_eval(const Script& script) {
  Reply r = read();
  std::string err = error_of(r.get());
  if (err.rfind("NOSCRIPT", 0) == 0) {
    // Someone ran SCRIPT FLUSH: reconnecting loads the scripts again.
    close();
    throw RedisError("script " + script.name + " is not loaded in Redis (SCRIPT FLUSH?)");
  }
  if (!err.empty()) throw RedisError("script " + script.name + " failed: " + err);
  return r;
}

Reply RedisConnection::eval(const Script& script, const Args& keys, const Args& args) {
  append_eval(script, keys, args);
  return read_eval(script);
}

}  // namespace pb::cluster
