#include "publisher.h"

#include <httplib.h>
#include <time.h>

#include <chrono>

namespace pbl {

std::int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Publisher::Publisher(PublisherOptions options)
    : options_(std::move(options)), maker_(options_.shape, options_.payload) {
  doc_ = maker_.next(0, realtime_ns()).document;
  etag_ = "\"0\"";
}

Publisher::~Publisher() {
  stop_async();
  stop();
}

bool Publisher::start(std::string& error) {
  if (options_.tls) {
    client_ = std::make_unique<httplib::Client>("https://" + options_.server_host + ":" +
                                                std::to_string(options_.server_port));
    client_->enable_server_certificate_verification(false);
  } else {
    client_ = std::make_unique<httplib::Client>(options_.server_host, options_.server_port);
  }
  client_->set_keep_alive(true);
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle
  // plus the peer's delayed ACK adds ~40 ms to every publish.
  client_->set_tcp_nodelay(true);
  client_->set_connection_timeout(5, 0);
  client_->set_read_timeout(10, 0);
  client_->set_write_timeout(10, 0);
  if (options_.target != Target::kPollbridge) return true;

  backend_ = std::make_unique<httplib::Server>();
  backend_->set_tcp_nodelay(true);  // same reason as the client's
  backend_->Get("/doc", [this](const httplib::Request& req, httplib::Response& res) {
    const std::int64_t now = monotonic_ns();
    std::string body, etag;
    {
      std::lock_guard<std::mutex> lock(doc_mutex_);
      request_times_.push_back(now);
      body = doc_;
      etag = etag_;
      if (doc_seq_ > last_fetched_seq_) {
        if (last_fetched_seq_ != 0) poll_stats_.folded += doc_seq_ - last_fetched_seq_ - 1;
        ++poll_stats_.fetched;
        poll_stats_.change_to_fetch.record_us((now - doc_changed_ns_) / 1000);
        last_fetched_seq_ = doc_seq_;
      }
    }
    backend_requests_.fetch_add(1);
    res.set_header("ETag", etag);
    res.set_header("Cache-Control", "no-cache");
    if (req.get_header_value("If-None-Match") == etag) {
      res.status = 304;
      return;
    }
    res.set_content(body, "application/json");
  });
  if (!backend_->bind_to_port(options_.backend_host.c_str(), options_.backend_port)) {
    error = "cannot bind the embedded backend to " + options_.backend_host + ":" +
            std::to_string(options_.backend_port);
    return false;
  }
  backend_thread_ = std::thread([this] { backend_->listen_after_bind(); });
  return true;
}

void Publisher::stop() {
  if (backend_) {
    backend_->stop();
    if (backend_thread_.joinable()) backend_thread_.join();
    backend_.reset();
  }
}

bool Publisher::publish_one(std::int64_t ts_ns) {
  const std::uint64_t seq = next_seq_.fetch_add(1);
  const std::int64_t ts = ts_ns ? ts_ns : realtime_ns();
  DocumentMaker::Change change = maker_.next(seq, ts);
  if (options_.target == Target::kPollbridge) {
    std::lock_guard<std::mutex> lock(doc_mutex_);
    doc_ = std::move(change.document);
    etag_ = "\"" + std::to_string(seq) + "\"";
    doc_seq_ = seq;
    doc_changed_ns_ = monotonic_ns();
  }
  if (options_.target == Target::kPollbridge && !trigger_) {
    published_.store(seq);
    return true;
  }
  const std::int64_t sent = monotonic_ns();
  httplib::Result res =
      options_.target == Target::kPollbridge
          ? client_->Post(options_.trigger_path.c_str(),
                          httplib::Headers{{"Authorization", "Bearer " + options_.token}}, "",
                          "text/plain")
          : client_->Post(options_.publish_path.c_str(), change.message, "application/json");
  published_.store(seq);
  {
    std::lock_guard<std::mutex> lock(error_mutex_);
    rtt_.record_us((monotonic_ns() - sent) / 1000);
  }
  const bool ok = res && res->status >= 200 && res->status < 300;
  if (!ok) {
    errors_.fetch_add(1);
    std::lock_guard<std::mutex> lock(error_mutex_);
    last_error_ = res ? "HTTP " + std::to_string(res->status) + " " + res->body
                      : "request failed: " + httplib::to_string(res.error());
  }
  return ok;
}

std::string Publisher::last_error() const {
  std::lock_guard<std::mutex> lock(error_mutex_);
  return last_error_;
}

void Publisher::run_async(double rate, std::uint64_t count) {
  stop_async();
  stop_requested_ = false;
  running_ = true;
  runner_ = std::thread([this, rate, count] {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const std::int64_t start_rt = realtime_ns();
    const auto period = std::chrono::duration<double>(1.0 / rate);
    for (std::uint64_t k = 0; count == 0 || k < count; ++k) {
      const auto offset = std::chrono::duration_cast<clock::duration>(period * k);
      const auto due = start + offset;
      while (!stop_requested_ && clock::now() < due) {
        std::this_thread::sleep_until(std::min(due, clock::now() + std::chrono::milliseconds(50)));
      }
      if (stop_requested_) break;
      publish_one(start_rt + std::chrono::duration_cast<std::chrono::nanoseconds>(offset).count());
    }
    running_ = false;
  });
}

void Publisher::stop_async() {
  stop_requested_ = true;
  if (runner_.joinable()) runner_.join();
  running_ = false;
}

Histogram Publisher::publish_rtt() const {
  std::lock_guard<std::mutex> lock(error_mutex_);
  return rtt_;
}

void Publisher::reset_publish_rtt() {
  std::lock_guard<std::mutex> lock(error_mutex_);
  rtt_.clear();
}

Publisher::PollStats Publisher::poll_stats() const {
  std::lock_guard<std::mutex> lock(doc_mutex_);
  return poll_stats_;
}

void Publisher::reset_poll_stats() {
  std::lock_guard<std::mutex> lock(doc_mutex_);
  poll_stats_ = PollStats();
}

void Publisher::join() {
  if (runner_.joinable()) runner_.join();
}

std::vector<std::int64_t> Publisher::backend_request_times() const {
  std::lock_guard<std::mutex> lock(doc_mutex_);
  return request_times_;
}

}  // namespace pbl
