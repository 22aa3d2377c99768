// One stream instance's poll: the request (a Fetcher), then what came back
// handed to its sink (the ingest stage: decoding, select/ignore, the
// stream), or why it failed; and how long to wait before the next poll.
//
// Threads: the scheduler runs a poll in two steps, never two polls of one
// poller at once: begin() and finish() on its loop thread (the request
// itself runs there, inside curl), then process() on a processing thread.
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
#include <random>
#include <string>
#include <vector>

#include "common/clock.h"
#include "config/config.h"
#include "upstream/backoff.h"
#include "upstream/fetcher.h"
#include "upstream/health_log.h"
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

  // Polls once on this thread and returns how long to wait before the next
  // poll.
  Duration poll_once();

  // The scheduler's steps. begin(): a request is about to be sent (counted;
  // prepares the fetcher, whose handle the caller then drives). finish(): the
  // request ended with `code`. process(): what the result means for the
  // stream (parse, diff, publish); returns the wait before the next poll.
  Fetcher& fetcher() { return fetcher_; }
  void begin();
  FetchResult finish(CURLcode code);
  Duration process(FetchResult result);

  Counters counters() const;
  Sink& sink() { return sink_; }
  const config::StreamConfig& config() const { return cfg_; }
  unsigned consecutive_failures() const { return failures_.load(); }
  // When the current poll's response was received (finish()): read by the
  // stream's listeners while process() publishes, on the same thread.
  std::chrono::steady_clock::time_point received() const { return received_; }
  // The series of this poller's stream in /metrics.
  metrics::StreamMetrics& metrics() { return *metrics_; }

 private:
  Duration failed(const std::string& reason, int status, std::optional<Duration> retry_after,
                  SystemClock::time_point now);
  Duration body_received(FetchResult result, SystemClock::time_point now);

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
  std::atomic<unsigned> failures_{0};
  std::chrono::steady_clock::time_point begun_{};     // when the current poll's request was sent
  std::chrono::steady_clock::time_point received_{};  // when its response was received
  HealthLog health_;
  std::shared_ptr<metrics::StreamMetrics> metrics_;
};

// A poll whose change the state store could not record (disk full, Redis
// unreachable) is tried again after at most this long, not a whole
// interval later: the stream catches up soon after the store is back.
constexpr Duration kUnrecordedRetry{5000};

}  // namespace pb::upstream
