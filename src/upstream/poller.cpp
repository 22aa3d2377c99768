#include "upstream/poller.h"

#include <openssl/evp.h>

#include <thread>

#include "log/private_id.h"
#include "metrics/stream_metrics.h"
#include "upstream/token_cache.h"

namespace pb::upstream {
namespace {

std::string sha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

// The login session's cookie jar: a curl share handle holding cookies only,
// used by one request at a time (no lock callbacks needed).
struct Poller::CookieShare {
  CURLSH* share = curl_share_init();
  CookieShare() { curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE); }
  ~CookieShare() { curl_share_cleanup(share); }
};

Poller::Poller(const config::StreamConfig& cfg, const Url& url, Sink& sink, const Clock& clock)
    : cfg_(cfg),
      sink_(sink),
      clock_(clock),
      fetcher_(cfg, url),
      backoff_(cfg.interval, cfg.backoff_max),
      rng_(std::random_device{}()),
      health_(cfg.name, log::instance_field(sink.key(), !cfg.auth.forward_headers.empty())),
      metrics_(metrics::stream_metrics(cfg.name)) {
  if (cfg_.pages.enabled()) {
    pager_ = std::make_unique<Pager>(cfg_.pages, url.origin() + url.target, cfg_.max_body);
  }
  if (cfg_.oauth2.enabled()) {
    const auto& o = cfg_.oauth2;
    // NUL separates the parts: none of them may hold one. The secret is
    // part of the key (a reload that changes it does not reuse a token got
    // with the old one); the key is never logged.
    const std::string sep(1, '\0');
    token_key_ =
        o.token_url + sep + o.client_id + sep + o.scope + sep + o.audience + sep + o.client_secret;
  }
  if (cfg_.login.enabled()) {
    cookies_ = std::make_unique<CookieShare>();
    fetcher_.set_cookie_share(cookies_->share);
  }
}

Poller::~Poller() {
  // The handle may use the cookie share: it goes first.
  fetcher_.abandon();
  if (token_owner_) TokenCache::shared().released(token_key_);
}

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

Duration Poller::not_modified(SystemClock::time_point now) {
  not_modified_.fetch_add(1);
  metrics_->not_modified.fetch_add(1, std::memory_order_relaxed);
  health_.success(now);
  sink_.unchanged(now);
  failures_.store(0);
  return backoff_.on_success();
}

Duration Poller::same_or_new(const std::string& digest, SystemClock::time_point now,
                             const std::function<Sink::Delivery()>& deliver, int status) {
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
  const Sink::Delivery d = deliver();
  if (d.outcome == Sink::Delivery::kRefused) return failed(d.reason, status, std::nullopt, now);
  const bool recorded = d.outcome == Sink::Delivery::kRecorded;
  health_.success(now);
  // Only a body whose change was recorded may be skipped next time: one the
  // store refused must be diffed (and published) again.
  if (recorded) {
    last_body_digest_ = digest;
    recorded_at_ = sink_.position();
  }
  failures_.store(0);
  const Duration next = backoff_.on_success();
  return recorded ? next : std::min(next, kUnrecordedRetry);
}

Duration Poller::body_received(FetchResult result, SystemClock::time_point now) {
  const std::string& body = result.body;
  body_bytes_.fetch_add(body.size());
  metrics_->body_bytes.fetch_add(body.size(), std::memory_order_relaxed);
  return same_or_new(
      sha256(body), now, [&] { return sink_.deliver(body, result.content_type, now); },
      result.status);
}

bool Poller::moved_elsewhere() {
  if (last_body_digest_.empty()) return false;
  return sink_.position() != recorded_at_;
}

FetchResult Poller::finish(CURLcode code) {
  received_ = std::chrono::steady_clock::now();
  return fetcher_.finish(code, clock_.system_now());
}

Duration Poller::poll_once() {
  std::optional<FetchResult> r;
  if (begin()) r = finish(curl_easy_perform(fetcher_.handle()));
  for (;;) {
    if (!r && recheck_.count() > 0) std::this_thread::sleep_for(recheck_);
    const Outcome o = process(std::move(r));
    r.reset();
    switch (o.kind) {
      case Outcome::kDone:
        return o.delay;
      case Outcome::kRecheck:
        recheck_ = o.delay;
        break;
      case Outcome::kSend:
        begin();
        r = finish(curl_easy_perform(fetcher_.handle()));
        break;
    }
  }
}

Duration Poller::single_result(FetchResult r, SystemClock::time_point now) {
  if (moved_elsewhere()) {
    // Another process polled meanwhile (a shared store): what this one saw
    // last is not what the stream holds.
    fetcher_.forget_validators();
    if (pager_) pager_->forget();
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
      return not_modified(now);
    case FetchResult::Kind::kFailed:
      if (!r.body.empty()) {
        // A body that explains the status (a SOAP Fault) says why.
        const std::string why = sink_.explain(r.body, r.content_type);
        if (!why.empty()) r.error += ": " + why;
      }
      return failed(r.error, r.status, r.retry_after, now);
    case FetchResult::Kind::kBody:
      break;
  }
  return body_received(std::move(r), now);
}

void Poller::observe_duration() {
  if (duration_observed_) return;
  duration_observed_ = true;
  metrics_->poll_duration.observe(std::chrono::duration<double>(received_ - begun_).count());
}

Poller::Outcome Poller::done(Duration next) {
  step_ = Step::kNone;
  prepared_ = false;
  observe_duration();
  const auto end = std::chrono::steady_clock::now();
  const std::int64_t took =
      std::chrono::duration_cast<std::chrono::microseconds>(end - begun_).count();
  last_duration_us_.store(took);
  durations_.record(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.system_now().time_since_epoch())
          .count(),
      took);
  return {Outcome::kDone, next};
}

Poller::Outcome Poller::fail_poll(const std::string& reason, int status,
                                  std::optional<Duration> retry_after) {
  observe_duration();
  fetcher_.abandon();
  if (pager_) pager_->abandon();
  sink_.drop_pages();
  return done(failed(reason, status, retry_after, clock_.system_now()));
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
