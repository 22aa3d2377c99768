#include "cluster/state_reply.h"

#include "cluster/redis_connection.h"
#include "sse/event_id.h"

namespace pb::cluster {
namespace {

std::uint64_t number(const redisReply* r) {
  std::string s = string_of(r);
  if (s.empty()) return 0;
  try {
    return std::stoull(s);
  } catch (const std::exception&) {
    throw RedisError("unexpected number in Redis: " + s.substr(0, 32));
  }
}

}  // namespace

std::optional<stream::PersistedState> parse_state_reply(const redisReply* r) {
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY) throw RedisError("unexpected reply to read");
  if (r->elements == 0) return std::nullopt;
  if (r->elements < 7) throw RedisError("unexpected reply to read");
  stream::PersistedState st;
  st.epoch = string_of(r->element[0]);
  st.seq = number(r->element[1]);
  st.doc_seq = number(r->element[2]);
  st.doc_changed_ms = static_cast<std::int64_t>(number(r->element[3]));
  st.fetched_ms = static_cast<std::int64_t>(number(r->element[4]));
  if (r->element[5]->type == REDIS_REPLY_STRING) st.doc_text = string_of(r->element[5]);
  const redisReply* entries = r->element[6];
  if (entries->type != REDIS_REPLY_ARRAY) throw RedisError("unexpected entries from read");
  st.history.reserve(entries->elements);
  for (std::size_t i = 0; i < entries->elements; ++i) {
    const redisReply* e = entries->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) throw RedisError("unexpected entry");
    std::string id = string_of(e->element[0]);
    std::uint64_t seq = 0;
    try {
      seq = std::stoull(id.substr(0, id.find('-')));
    } catch (const std::exception&) {
      throw RedisError("unexpected entry id in Redis: " + id.substr(0, 32));
    }
    std::string type, data;
    const redisReply* f = e->element[1];
    for (std::size_t j = 0; f->type == REDIS_REPLY_ARRAY && j + 1 < f->elements; j += 2) {
      std::string name = string_of(f->element[j]);
      if (name == "t") type = string_of(f->element[j + 1]);
      if (name == "d") data = string_of(f->element[j + 1]);
    }
    if (type.empty()) throw RedisError("entry without a type in Redis");
    st.history.push_back(stream::make_event(seq, sse::EventId{st.epoch, seq}.str(), std::move(type),
                                            std::move(data)));
  }
  return st;
}

}  // namespace pb::cluster
