// What the stream's own upstream answered last (not a login or token
// request): status, the headers a poll keeps (Content-Type, ETag,
// Last-Modified, Location), or why the request failed. Shown by the
// operator's console (docs/console.md); no header that can carry a
// credential is kept (Set-Cookie never is, and no request header).
//
// Threads: record() by the poll's processing thread (one at a time per
// poller); get() from any thread. A mutex, taken once per response: a poll
// is rare next to the events it makes.
#pragma once

#include <chrono>
#include <string>

#include "common/mutex.h"

namespace pb::upstream {

struct ResponseSummary {
  bool received = false;  // false: no response yet
  int status = 0;         // 0: none (a transport error)
  std::string content_type, etag, last_modified, location;
  std::string error;  // why it failed, for humans ("" when it did not)
  std::chrono::system_clock::time_point at{};
};

class LastResponse {
 public:
  void record(ResponseSummary summary) PB_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    last_ = std::move(summary);
  }
  ResponseSummary get() const PB_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return last_;
  }

 private:
  mutable Mutex mu_;
  ResponseSummary last_ PB_GUARDED_BY(mu_);
};

}  // namespace pb::upstream
