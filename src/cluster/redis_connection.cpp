#include "cluster/redis_connection.h"

#include <sys/time.h>

namespace pb::cluster {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

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
                                 std::vector<const Script*> scripts)
    : url_(std::move(url)), timeout_(timeout), scripts_(std::move(scripts)) {}

RedisConnection::~RedisConnection() {
  close();
}

void RedisConnection::close() {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
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

void RedisConnection::ensure() {
  if (ctx_ != nullptr) return;
  ctx_ = redisConnectWithTimeout(url_.host.c_str(), url_.port, to_timeval(timeout_));
  if (ctx_ == nullptr) throw RedisError("cannot connect to " + url_.redacted());
  if (ctx_->err) fail("cannot connect to " + url_.redacted());
  if (redisSetTimeout(ctx_, to_timeval(timeout_)) != REDIS_OK) fail("cannot set the timeout");
  if (!url_.password.empty()) {
    Args auth = {"AUTH"};
    if (!url_.user.empty()) auth.push_back(url_.user);
    auth.push_back(url_.password);
    Reply r = command(auth);
    if (!error_of(r.get()).empty()) {
      // Redis' own text (WRONGPASS ...) holds no secret; ours neither.
      std::string why = error_of(r.get());
      close();
      throw RedisError("authentication to " + url_.redacted() + " refused: " + why);
    }
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
}

Reply RedisConnection::read() {
  if (ctx_ == nullptr) throw RedisError("not connected");
  void* raw = nullptr;
  if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
    fail("lost the connection to " + url_.redacted());
  }
  return Reply(static_cast<redisReply*>(raw));
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
