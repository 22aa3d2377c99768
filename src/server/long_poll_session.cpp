#include "server/long_poll_session.h"

#include <algorithm>
#include <utility>

#include "server/long_poll.h"

namespace pb::server {

LongPollSession::LongPollSession(LongPoll& owner, Parts parts)
    : owner_(owner), parts_(std::move(parts)) {}

LongPollSession::~LongPollSession() = default;

LongPollSession::Answer LongPollSession::begin(std::optional<std::string> last_id,
                                               SteadyClock::time_point now) {
  last_id_ = std::move(last_id);
  started_ = now;
  deadline_ = std::min(now + parts_.config->server.longpoll_timeout, parts_.close_at);
  return owner_.run_on_loop(*this, false, now);
}

LongPollSession::Answer LongPollSession::resume(SteadyClock::time_point now) {
  return owner_.run_on_loop(*this, true, now);
}

bool LongPollSession::ready() const {
  return (wait_ && wait_->changed()) || (parts_.admission && parts_.admission->revoked());
}

std::string LongPollSession::bytes(Answer& a, bool close, const std::string& keep_alive) {
  return owner_.finish_on_loop(*this, std::move(a.body), close, keep_alive);
}

}  // namespace pb::server
