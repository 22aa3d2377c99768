#include "cluster/event_follower.h"

#include <pthread.h>

#include "cluster/lua_scripts.h"
#include "cluster/redis_connection.h"
#include "cluster/state_reply.h"
#include "log/log.h"

namespace pb::cluster {

EventFollower::EventFollower(config::RedisUrl url, std::chrono::milliseconds timeout,
                             Targets targets, Deliver deliver, std::string polls_key,
                             PollEntry on_poll_entry, std::shared_ptr<Sentinel> sentinel)
    : url_(std::move(url)),
      timeout_(timeout),
      targets_(std::move(targets)),
      deliver_(std::move(deliver)),
      polls_key_(std::move(polls_key)),
      on_poll_entry_(std::move(on_poll_entry)),
      sentinel_(std::move(sentinel)) {
  thread_ = std::thread([this] { run(); });
}

EventFollower::~EventFollower() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void EventFollower::run() {
  pthread_setname_np(pthread_self(), "pb-redis-follow");
  // The socket timeout must outlast the block.
  RedisConnection conn(url_, kFollowBlock + timeout_, {&read_script()}, sentinel_);
  // Through Sentinel a lost master is usually a failover: look again soon
  // (the new master is there within Sentinel's failover time).
  const std::chrono::milliseconds most = sentinel_ ? kSentinelBackoffMax : kFollowBackoffMax;
  std::chrono::milliseconds backoff{100};
  bool reported = false;
  std::string polls_from;  // last poll request seen; "" until read from Redis
  while (!stopping_) {
    std::vector<Target> targets = targets_();
    try {
      if (polls_from.empty()) {
        // Requests made before this process listened are not its to answer.
        Reply last = conn.command({"XREVRANGE", polls_key_, "+", "-", "COUNT", "1"});
        polls_from = "0-0";
        if (last->type == REDIS_REPLY_ARRAY && last->elements == 1 &&
            last->element[0]->type == REDIS_REPLY_ARRAY && last->element[0]->elements >= 1) {
          polls_from = string_of(last->element[0]->element[0]);
        }
      }
      RedisConnection::Args args = {
          "XREAD", "COUNT", "1", "BLOCK", std::to_string(kFollowBlock.count()), "STREAMS"};
      for (const auto& t : targets) args.push_back(t.keys.events);
      args.push_back(polls_key_);
      for (const auto& t : targets) args.push_back(std::to_string(t.position.seq) + "-0");
      args.push_back(polls_from);
      Reply r = conn.command(args);
      if (!error_of(r.get()).empty()) throw RedisError("XREAD failed: " + error_of(r.get()));
      backoff = std::chrono::milliseconds(100);
      if (reported) log::info("following Redis again", {{"redis", url_.redacted()}});
      reported = false;
      if (r->type != REDIS_REPLY_ARRAY) continue;  // nil: nothing new within the block
      std::vector<const Target*> news;
      std::vector<Fields> polls;
      for (std::size_t i = 0; i < r->elements; ++i) {
        const redisReply* s = r->element[i];
        if (s->type != REDIS_REPLY_ARRAY || s->elements < 2) continue;
        std::string name = string_of(s->element[0]);
        if (name == polls_key_) {
          const redisReply* entries = s->element[1];
          for (std::size_t j = 0; entries->type == REDIS_REPLY_ARRAY && j < entries->elements;
               ++j) {
            const redisReply* e = entries->element[j];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) continue;
            polls_from = string_of(e->element[0]);
            Fields f;
            const redisReply* kv = e->element[1];
            for (std::size_t k = 0; kv->type == REDIS_REPLY_ARRAY && k + 1 < kv->elements; k += 2) {
              f[string_of(kv->element[k])] = string_of(kv->element[k + 1]);
            }
            polls.push_back(std::move(f));
          }
          continue;
        }
        for (const auto& t : targets) {
          if (t.keys.events == name) news.push_back(&t);
        }
      }
      // One pipelined round trip reads every instance that has news.
      for (const Target* t : news) {
        conn.append_eval(read_script(), {t->keys.meta, t->keys.events},
                         {t->position.epoch, std::to_string(t->position.seq),
                          std::to_string(std::min(t->history, kFollowBatch)),
                          std::to_string(t->position.doc_seq)});
      }
      for (const Target* t : news) {
        Reply state = conn.read_eval(read_script());
        if (auto st = parse_state_reply(state.get())) deliver_(t->address, *st);
      }
      for (const auto& f : polls) on_poll_entry_(f);
    } catch (const RedisError& e) {
      if (!reported) {
        log::warn("cannot follow Redis; retrying", {{"error", e.what()}});
        reported = true;
      }
      conn.close();
      for (auto waited = std::chrono::milliseconds(0); waited < backoff && !stopping_;
           waited += std::chrono::milliseconds(50)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      backoff = std::min(backoff * 2, most);
    }
  }
}

}  // namespace pb::cluster
