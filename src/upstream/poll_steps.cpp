// The requests of one poll, in order (see poller.h): a login when the
// instance has no session, an OAuth2 token when there is none valid, then
// the stream's request, or its pages one after another; a refused token
// or session is renewed once per poll. Every decision here is made between
// two requests (begin() on the loop thread, process() on a processing
// thread); nothing waits on the network.
#include <algorithm>
#include <cctype>

#include "common/ascii.h"
#include "config/duration.h"
#include "metrics/stream_metrics.h"
#include "upstream/link_header.h"
#include "upstream/poller.h"
#include "upstream/token_cache.h"
#include "upstream/url_reference.h"

namespace pb::upstream {
namespace {

// application/x-www-form-urlencoded (the URL standard's serializer).
std::string form_encode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '*' || c == '-' || c == '.' || c == '_') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string base64(const std::string& s) {
  static const char* kTable = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(s[i]) << 16) |
                       (static_cast<unsigned char>(s[i + 1]) << 8) |
                       static_cast<unsigned char>(s[i + 2]);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (i < s.size()) {
    unsigned v = static_cast<unsigned char>(s[i]) << 16;
    if (i + 1 < s.size()) v |= static_cast<unsigned char>(s[i + 1]) << 8;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += i + 1 < s.size() ? kTable[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// An RFC 6749 section 5.2 error code as it may appear in a reason: its
// characters only (%x20-21 / %x23-5B / %x5D-7E), at most 64 of them.
std::string safe_error_code(const std::string& code) {
  if (code.empty() || code.size() > 64) return "";
  for (char c : code) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return "";
  }
  return code;
}

}  // namespace

std::chrono::milliseconds Poller::time_left() const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline_ - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(1));
}

bool Poller::begin() {
  if (!prepared_) {
    // A new poll.
    begun_ = std::chrono::steady_clock::now();
    received_ = begun_;
    duration_observed_ = false;
    deadline_ = begun_ + cfg_.timeout;
    polls_.fetch_add(1);
    metrics_->polls.fetch_add(1, std::memory_order_relaxed);
    token_retried_ = false;
    relogged_ = false;
    token_.clear();
    pending_failure_.clear();
    if (pager_) pager_->start();
    const Outcome o = next_request();
    if (o.kind != Outcome::kSend) {
      recheck_ = o.kind == Outcome::kRecheck ? o.delay : Duration{0};
      return false;
    }
  }
  prepared_ = false;
  fetcher_.set_time_left(time_left());
  return true;
}

Poller::Outcome Poller::send() {
  prepared_ = true;
  return {Outcome::kSend, Duration{0}};
}

void Poller::prepare_page() {
  fetcher_.set_bearer(token_);
  if (pager_) {
    fetcher_.prepare_page(pager_->url(), pager_->etag(), pager_->last_modified());
  } else {
    fetcher_.prepare();
  }
}

// What the poll sends next, from its state: a login, a token request, or
// the stream's (next) request. A failure found here (on either thread) is
// reported by process(nullopt): step_ kFailed.
Poller::Outcome Poller::next_request() {
  const auto now = std::chrono::steady_clock::now();
  auto fail = [this](std::string reason) {
    step_ = Step::kFailed;
    pending_failure_ = std::move(reason);
    return Outcome{Outcome::kRecheck, Duration{0}};
  };
  if (now >= deadline_) {
    return fail("timeout: no complete response within " + config::format_duration(cfg_.timeout));
  }
  if (cookies_ && !logged_in_) {
    // At most one login per interval, whatever refuses the session: a
    // broken login never hammers the application.
    if (last_login_ && now - *last_login_ < cfg_.interval) {
      return fail("login: the session was refused again less than " +
                  config::format_duration(cfg_.interval) +
                  " (interval) after the last login; not logging in again yet");
    }
    last_login_ = now;
    step_ = Step::kLogin;
    OtherRequest req;
    req.url = cfg_.login.url;
    req.method = cfg_.login.method;
    req.body = cfg_.login.body;
    req.content_type = cfg_.login.content_type;
    req.headers = cfg_.login.headers;
    fetcher_.prepare_other(req);
    return send();
  }
  if (!token_key_.empty() && token_.empty()) {
    auto a = TokenCache::shared().acquire(token_key_, now, begun_, deadline_);
    switch (a.verdict) {
      case TokenCache::Verdict::kUse:
        token_ = std::move(a.token);
        break;
      case TokenCache::Verdict::kWait:
        step_ = Step::kTokenWait;
        return {Outcome::kRecheck, kTokenWaitRecheck};
      case TokenCache::Verdict::kFailed:
        return fail(a.reason);
      case TokenCache::Verdict::kFetch: {
        token_owner_ = true;
        step_ = Step::kToken;
        const auto& o = cfg_.oauth2;
        OtherRequest req;
        req.url = o.token_url;
        req.method = "POST";
        req.content_type = "application/x-www-form-urlencoded";
        req.body = "grant_type=client_credentials";
        if (!o.scope.empty()) req.body += "&scope=" + form_encode(o.scope);
        if (!o.audience.empty()) req.body += "&audience=" + form_encode(o.audience);
        for (const auto& [k, v] : o.params) req.body += "&" + form_encode(k) + "=" + form_encode(v);
        if (o.auth == "post") {
          req.body += "&client_id=" + form_encode(o.client_id) +
                      "&client_secret=" + form_encode(o.client_secret);
        } else {
          // RFC 6749 section 2.3.1: each part form-encoded, then Basic.
          req.headers.emplace_back(
              "Authorization",
              "Basic " + base64(form_encode(o.client_id) + ":" + form_encode(o.client_secret)));
        }
        req.headers.emplace_back("Accept", "application/json");
        fetcher_.prepare_other(req);
        return send();
      }
    }
  }
  step_ = Step::kPage;
  prepare_page();
  return send();
}

Poller::Outcome Poller::process(std::optional<FetchResult> r) {
  if (!r) {
    if (step_ == Step::kFailed) return fail_poll(pending_failure_, 0);
    // Waiting for another poll's token request: look again.
    const Outcome o = next_request();
    if (step_ == Step::kFailed) return fail_poll(pending_failure_, 0);
    return o;
  }
  Outcome o;
  switch (step_) {
    case Step::kLogin:
      o = after_login(std::move(*r));
      break;
    case Step::kToken:
      o = after_token(std::move(*r));
      break;
    default: {
      ResponseSummary seen;
      seen.received = true;
      seen.status = r->status;
      seen.content_type = r->content_type;
      seen.etag = r->etag;
      seen.last_modified = r->last_modified;
      seen.location = r->location;
      seen.error = r->error;
      seen.at = clock_.system_now();
      last_response_.record(std::move(seen));
      o = after_page(std::move(*r));
      break;
    }
  }
  if (step_ == Step::kFailed && o.kind != Outcome::kDone) return fail_poll(pending_failure_, 0);
  return o;
}

Poller::Outcome Poller::after_login(FetchResult r) {
  // Whatever the status, the cookies it set are in the jar; a 2xx or 3xx
  // (a redirect after a form login) is a session.
  if (r.status < 200 || r.status >= 400) {
    logged_in_ = false;
    const std::string why = r.status != 0 ? "HTTP " + std::to_string(r.status) : r.error;
    return fail_poll("login: " + why, r.status);
  }
  logged_in_ = true;
  return next_request();
}

Poller::Outcome Poller::after_token(FetchResult r) {
  token_owner_ = false;
  TokenCache& cache = TokenCache::shared();
  const auto now = std::chrono::steady_clock::now();
  auto refuse = [&](const std::string& reason) {
    cache.failed(token_key_, reason, now);
    return fail_poll(reason, r.status);
  };
  if (r.status == 0) return refuse("oauth2 token: " + r.error);
  std::optional<std::map<std::string, std::string>> members;
  if (!r.body.empty()) members = sink_.object_members(r.body);
  if (r.status < 200 || r.status >= 300) {
    std::string reason = "oauth2 token: HTTP " + std::to_string(r.status);
    if (members) {
      auto it = members->find("error");
      if (it != members->end() && !safe_error_code(it->second).empty()) reason += " " + it->second;
    }
    return refuse(reason);
  }
  if (!members) return refuse("oauth2 token: the answer is not a JSON object");
  auto token = members->find("access_token");
  if (token == members->end() || token->second.empty()) {
    return refuse("oauth2 token: the answer has no access_token");
  }
  auto type = members->find("token_type");
  if (type != members->end() && lowercase(type->second) != "bearer") {
    return refuse("oauth2 token: token_type is not Bearer");
  }
  std::optional<std::chrono::seconds> expires;
  if (auto e = members->find("expires_in"); e != members->end()) {
    long long v = 0;
    const std::string& t = e->second;
    if (!t.empty() && t.size() <= 12 && std::all_of(t.begin(), t.end(), ::isdigit)) {
      v = std::stoll(t);
      expires = std::chrono::seconds(v);
    }
  }
  token_ = token->second;
  cache.stored(token_key_, token_, expires, now);
  return next_request();
}

bool Poller::login_redirect(const FetchResult& r) const {
  if (!cookies_ || r.status < 300 || r.status >= 400 || r.location.empty()) return false;
  const std::string base = pager_ ? pager_->url() : cfg_.url;
  const auto target = resolve_reference(base, r.location);
  return target && path_of(*target) == path_of(cfg_.login.url);
}

Poller::Outcome Poller::after_page(FetchResult r) {
  if (r.status == 401 && !token_key_.empty() && !token_retried_) {
    // The token was revoked or expired early: one new token, one retry.
    token_retried_ = true;
    TokenCache::shared().invalidate(token_key_, token_);
    token_.clear();
    return next_request();
  }
  const bool session_refused = r.status == 401 || r.status == 403 || login_redirect(r);
  if (cookies_ && session_refused) {
    if (!relogged_) {
      relogged_ = true;
      logged_in_ = false;
      return next_request();
    }
    logged_in_ = false;
    return fail_poll("login: the session was refused right after logging in (HTTP " +
                         std::to_string(r.status) + ")",
                     r.status);
  }
  if (!pager_) {
    observe_duration();
    return done(single_result(std::move(r), clock_.system_now()));
  }
  return after_list_page(std::move(r));
}

Poller::Outcome Poller::after_list_page(FetchResult r) {
  const std::size_t number = pager_->index() + 1;
  if (r.kind == FetchResult::Kind::kFailed) {
    const std::string reason =
        number == 1 ? r.error : "pages: page " + std::to_string(number) + ": " + r.error;
    return fail_poll(reason, r.status, r.retry_after);
  }
  std::string error;
  if (r.kind == FetchResult::Kind::kNotModified) {
    error = pager_->add_unchanged();
  } else {
    body_bytes_.fetch_add(r.body.size());
    metrics_->body_bytes.fetch_add(r.body.size(), std::memory_order_relaxed);
    std::optional<std::string> next;
    if (pager_->link_mode()) next = next_link(r.links);
    Sink::PageRead read =
        sink_.read_page(pager_->index(), r.body, r.content_type, !pager_->link_mode());
    if (!read.error.empty()) return fail_poll("pages: " + read.error, r.status);
    if (!pager_->link_mode()) next = std::move(read.next);
    error = pager_->add_page(std::move(r.body), std::move(r.content_type), std::move(r.etag),
                             std::move(r.last_modified), std::move(next));
  }
  if (!error.empty()) return fail_poll(error, r.status);
  if (!pager_->more()) return list_complete();
  if (std::chrono::steady_clock::now() >= deadline_) {
    return fail_poll("timeout: no complete list within " + config::format_duration(cfg_.timeout) +
                         " (" + std::to_string(pager_->count()) + " pages read)",
                     0);
  }
  prepare_page();
  return send();
}

Poller::Outcome Poller::list_complete() {
  observe_duration();
  const auto now = clock_.system_now();
  if (moved_elsewhere()) {
    // Another process published meanwhile: deliver the whole list.
    fetcher_.forget_validators();
    last_body_digest_.clear();
  }
  bool all_unchanged = true;
  for (std::size_t i = 0; i < pager_->count(); ++i) all_unchanged &= pager_->unchanged(i);
  if (all_unchanged && !last_body_digest_.empty()) {
    pager_->commit();
    sink_.drop_pages();
    return done(not_modified(now));
  }
  const std::uint64_t failures_before = failures_count_.load();
  const Duration next = same_or_new(
      pager_->digest(), now,
      [&]() -> Sink::Delivery {
        for (std::size_t i = 0; i < pager_->count(); ++i) {
          if (!pager_->unchanged(i)) continue;
          Sink::PageRead read = sink_.read_page(i, pager_->body(i), pager_->content_type(i), false);
          if (!read.error.empty()) return {Sink::Delivery::kRefused, "pages: " + read.error};
        }
        return sink_.deliver_pages(pager_->count(), now);
      },
      200);
  if (failures_count_.load() == failures_before) {
    pager_->commit();
  } else {
    pager_->abandon();
  }
  sink_.drop_pages();
  return done(next);
}

}  // namespace pb::upstream
