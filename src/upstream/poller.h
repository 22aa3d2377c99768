// One stream instance's poll: its requests (a Fetcher), then what came back
// handed to its sink (the ingest stage: decoding, select/ignore, the
// stream), or why it failed; and how long to wait before the next poll.
//
// A poll is a short sequence of requests (poll_steps.cpp): [a login when
// there is no session] -> [an OAuth2 token when there is none] -> page 1 ->
// page 2 ... (pages:); a 401 with oauth2: gets one new token and one retry,
// a 401, 403 or redirect to the login path with login: one new login and
// one retry. `timeout` is the deadline of the whole sequence.
//
// Threads: the scheduler runs each request of a poll in two steps, never
// two at once for one poller: begin() and finish() on its loop thread (the
// request itself runs there, inside curl), then process() on a processing
// thread, which says whether the poll is done, another request is prepared
// (the scheduler sends it: begin() again), or process() wants to be called
// again later without a response (a token another poll is fetching).
// poll_once() does all of it on the calling thread (tests, tools).
// counters() from any thread.
//
// Backoff and Retry-After dates use the injected clock's system time; a
// request's measured duration (received(), /metrics) is real time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/clock.h"
#include "config/config.h"
#include "upstream/backoff.h"
#include "upstream/duration_ring.h"
#include "upstream/fetcher.h"
#include "upstream/health_log.h"
#include "upstream/last_response.h"
#include "upstream/pager.h"
#include "upstream/sink.h"

namespace pb::metrics {
struct StreamMetrics;
}

namespace pb::upstream {

struct Counters {
  std::uint64_t polls = 0;
  std::uint64_t not_modified = 0;  // 304 answers
  std::uint64_t same_body = 0;     // 200 with the same bytes as before: no parse
  std::uint64_t parses = 0;        // bodies parsed
  std::uint64_t failures = 0;
  std::uint64_t body_bytes = 0;
  std::int64_t last_duration_us = 0;
};

class Poller {
 public:
  // `cfg`, `sink` and `clock` must outlive the poller. `url` has parameters
  // expanded.
  Poller(const config::StreamConfig& cfg, const Url& url, Sink& sink,
         const Clock& clock = real_clock());

  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Polls once on this thread and returns how long to wait before the next
  // poll.
  Duration poll_once();

  // What process() says.
  struct Outcome {
    enum Kind {
      kDone,     // the poll is over; `delay` until the next one
      kSend,     // another request is prepared: begin() and drive it
      kRecheck,  // call process(nullopt) again after `delay`
    } kind = kDone;
    Duration delay{0};
  };

  // The scheduler's steps. begin(): a request is about to be sent (a new
  // poll is counted and its first request prepared; a prepared request gets
  // what remains of the deadline); false: nothing to send now, call
  // process(nullopt) after recheck_delay(). finish(): the request ended
  // with `code`. process(): what the result means (parse, diff, publish, or
  // the next request of the poll).
  Fetcher& fetcher() { return fetcher_; }
  bool begin();
  Duration recheck_delay() const { return recheck_; }
  FetchResult finish(CURLcode code);
  Outcome process(std::optional<FetchResult> result);

  Counters counters() const;
  // The last polls' durations (the console's chart).
  const DurationRing& durations() const { return durations_; }
  // The stream's own upstream's last answer (the console's detail).
  ResponseSummary last_response() const { return last_response_.get(); }
  Sink& sink() { return sink_; }
  const config::StreamConfig& config() const { return cfg_; }
  unsigned consecutive_failures() const { return failures_.load(); }
  // When the current poll's response was received (finish()): read by the
  // stream's listeners while process() publishes, on the same thread.
  std::chrono::steady_clock::time_point received() const { return received_; }
  // The series of this poller's stream in /metrics.
  metrics::StreamMetrics& metrics() { return *metrics_; }

 private:
  enum class Step { kNone, kLogin, kToken, kTokenWait, kPage, kFailed };
  Duration failed(const std::string& reason, int status, std::optional<Duration> retry_after,
                  SystemClock::time_point now);
  Duration body_received(FetchResult result, SystemClock::time_point now);
  Duration single_result(FetchResult r, SystemClock::time_point now);
  Duration not_modified(SystemClock::time_point now);
  Duration same_or_new(const std::string& digest, SystemClock::time_point now,
                       const std::function<Sink::Delivery()>& deliver, int status);
  // poll_steps.cpp: the requests of a poll.
  Outcome next_request();
  Outcome after_login(FetchResult r);
  Outcome after_token(FetchResult r);
  Outcome after_page(FetchResult r);
  Outcome after_list_page(FetchResult r);
  Outcome list_complete();
  Outcome fail_poll(const std::string& reason, int status,
                    std::optional<Duration> retry_after = std::nullopt);
  Outcome done(Duration next);
  Outcome send();
  void prepare_page();
  std::chrono::milliseconds time_left() const;
  bool login_redirect(const FetchResult& r) const;

  const config::StreamConfig& cfg_;
  Sink& sink_;
  const Clock& clock_;
  Fetcher fetcher_;
  Backoff backoff_;
  std::string last_body_digest_;  // SHA-256 of the last body the sink recorded
  // The stream's epoch and document when this poller last updated it. With
  // a shared store another process may have moved it since (it polled
  // meanwhile): then neither the digest nor the validators may be trusted.
  std::pair<std::string, std::uint64_t> recorded_at_;
  bool moved_elsewhere();
  std::mt19937_64 rng_;

  std::atomic<std::uint64_t> polls_{0}, not_modified_{0}, same_body_{0}, parses_{0},
      failures_count_{0}, body_bytes_{0};
  std::atomic<std::int64_t> last_duration_us_{0};
  DurationRing durations_;
  LastResponse last_response_;
  std::atomic<unsigned> failures_{0};
  // The current poll's sequence (one thread at a time, see above).
  Step step_ = Step::kNone;
  bool prepared_ = false;  // a request of the current poll is prepared on the fetcher
  Duration recheck_{0};
  std::string pending_failure_;  // begin() found the poll failed before any request
  std::chrono::steady_clock::time_point deadline_{};
  bool token_retried_ = false;    // a 401 got its new token already
  bool relogged_ = false;         // a refused session got its new login already
  std::unique_ptr<Pager> pager_;  // with pages:
  std::string token_key_;         // with oauth2: the token cache's key
  std::string token_;             // the token in use (secret)
  bool token_owner_ = false;      // this poll sends the key's token request
  struct CookieShare;
  std::unique_ptr<CookieShare> cookies_;  // with login: the session's jar
  bool logged_in_ = false;
  std::optional<std::chrono::steady_clock::time_point> last_login_;
  std::chrono::steady_clock::time_point begun_{};     // when the current poll's request was sent
  std::chrono::steady_clock::time_point received_{};  // when its response was received
  bool duration_observed_ = false;  // the current poll is in the poll-duration histogram
  // Puts the current poll (its first request sent to its last response
  // received) into the poll-duration histogram, once: called before the
  // outcome reaches the sink, so that whoever sees the poll's event or
  // status in /metrics sees the poll too.
  void observe_duration();
  HealthLog health_;
  std::shared_ptr<metrics::StreamMetrics> metrics_;
};

// A poll whose change the state store could not record (disk full, Redis
// unreachable) is tried again after at most this long, not a whole
// interval later: the stream catches up soon after the store is back.
constexpr Duration kUnrecordedRetry{5000};

}  // namespace pb::upstream
