#include "upstream/poller.h"

#include <openssl/evp.h>

#include "log/private_id.h"
#include "metrics/stream_metrics.h"

namespace pb::upstream {
namespace {

std::string sha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

Poller::Poller(const config::StreamConfig& cfg, const Url& url, Sink& sink, const Clock& clock)
    : cfg_(cfg),
      sink_(sink),
      clock_(clock),
      fetcher_(cfg, url),
      backoff_(cfg.interval, cfg.backoff_max),
      rng_(std::random_device{}()),
      health_(cfg.name, log::instance_field(sink.key(), !cfg.auth.forward_headers.empty())),
      metrics_(metrics::stream_metrics(cfg.name)) {}

Duration Poller::failed(const std::string& reason, int status, std::optional<Duration> retry_after,
                        SystemClock::time_point now) {
  failures_count_.fetch_add(1);
  metrics_->failures.fetch_add(1, std::memory_order_relaxed);
  health_.failure(reason, status, now);
  sink_.failed(reason, status, now);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Duration d = backoff_.on_failure(retry_after, u(rng_));
  failures_.store(backoff_.failures());
  return d;
}

Duration Poller::body_received(FetchResult result, SystemClock::time_point now) {
  const std::string& body = result.body;
  const int status = result.status;
  body_bytes_.fetch_add(body.size());
  metrics_->body_bytes.fetch_add(body.size(), std::memory_order_relaxed);
  std::string digest = sha256(body);
  if (digest == last_body_digest_) {
    same_body_.fetch_add(1);
    metrics_->same_body.fetch_add(1, std::memory_order_relaxed);
    health_.success(now);
    sink_.unchanged(now);
    failures_.store(0);
    return backoff_.on_success();
  }
  parses_.fetch_add(1);
  metrics_->parses.fetch_add(1, std::memory_order_relaxed);
  const Sink::Delivery d = sink_.deliver(body, result.content_type, now);
  if (d.outcome == Sink::Delivery::kRefused) return failed(d.reason, status, std::nullopt, now);
  const bool recorded = d.outcome == Sink::Delivery::kRecorded;
  health_.success(now);
  // Only a body whose change was recorded may be skipped next time: one the
  // store refused must be diffed (and published) again.
  if (recorded) {
    last_body_digest_ = std::move(digest);
    recorded_at_ = sink_.position();
  }
  failures_.store(0);
  const Duration next = backoff_.on_success();
  return recorded ? next : std::min(next, kUnrecordedRetry);
}

bool Poller::moved_elsewhere() {
  if (last_body_digest_.empty()) return false;
  return sink_.position() != recorded_at_;
}

FetchResult Poller::finish(CURLcode code) {
  received_ = std::chrono::steady_clock::now();
  metrics_->poll_duration.observe(std::chrono::duration<double>(received_ - begun_).count());
  return fetcher_.finish(code, clock_.system_now());
}

void Poller::begin() {
  begun_ = std::chrono::steady_clock::now();
  polls_.fetch_add(1);
  metrics_->polls.fetch_add(1, std::memory_order_relaxed);
  fetcher_.prepare();
}

Duration Poller::poll_once() {
  begin();
  return process(finish(curl_easy_perform(fetcher_.handle())));
}

Duration Poller::process(FetchResult r) {
  SystemClock::time_point now = clock_.system_now();
  Duration next;
  if (moved_elsewhere()) {
    // Another process polled meanwhile (a shared store): what this one saw
    // last is not what the stream holds.
    fetcher_.forget_validators();
    last_body_digest_.clear();
    if (r.kind == FetchResult::Kind::kNotModified) {
      // "As you last saw" says nothing about the stream's document: the
      // next request is unconditional.
      failures_.store(0);
      return backoff_.on_success();
    }
  }
  switch (r.kind) {
    case FetchResult::Kind::kNotModified:
      not_modified_.fetch_add(1);
      metrics_->not_modified.fetch_add(1, std::memory_order_relaxed);
      health_.success(now);
      sink_.unchanged(now);
      failures_.store(0);
      next = backoff_.on_success();
      break;
    case FetchResult::Kind::kFailed:
      if (!r.body.empty()) {
        // A body that explains the status (a SOAP Fault) says why.
        const std::string why = sink_.explain(r.body, r.content_type);
        if (!why.empty()) r.error += ": " + why;
      }
      next = failed(r.error, r.status, r.retry_after, now);
      break;
    case FetchResult::Kind::kBody:
      next = body_received(std::move(r), now);
      break;
  }
  last_duration_us_.store(std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - begun_)
                              .count());
  return next;
}

Counters Poller::counters() const {
  Counters c;
  c.polls = polls_.load();
  c.not_modified = not_modified_.load();
  c.same_body = same_body_.load();
  c.parses = parses_.load();
  c.failures = failures_count_.load();
  c.body_bytes = body_bytes_.load();
  c.last_duration_us = last_duration_us_.load();
  return c;
}

}  // namespace pb::upstream
