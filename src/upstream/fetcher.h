// One HTTP(S) client per stream instance: keeps the connection alive between
// polls, sends the validators of the last response (If-None-Match,
// If-Modified-Since), asks for compressed bodies, and refuses bodies larger
// than the configured maximum without buffering them.
//
// Threads: one poll at a time (the stream's poller); cancel() from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "upstream/backoff.h"
#include "upstream/url.h"

namespace httplib {
class Client;
}

namespace pb::upstream {

struct FetchResult {
  enum class Kind { kBody, kNotModified, kFailed };
  Kind kind = Kind::kFailed;
  int status = 0;     // HTTP status, 0 if none was received
  std::string body;   // decompressed, for kBody
  std::string error;  // for kFailed: what went wrong, for humans
  std::optional<Duration> retry_after;
};

class Fetcher {
 public:
  // `url` is the stream's URL with parameters already expanded.
  Fetcher(const config::StreamConfig& cfg, const Url& url);
  ~Fetcher();
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  FetchResult fetch(SystemClock::time_point now);

  // Forgets the validators: the next request is unconditional.
  void forget_validators();

  // Aborts a request in flight (shutdown); the fetch reports a failure.
  void cancel();

 private:
  // (Re)creates the client: the only safe way to drop a connection whose
  // response was abandoned (httplib's Client::stop() misuses its mutex).
  void open_client();

  const config::StreamConfig& cfg_;
  Url url_;
  std::unique_ptr<httplib::Client> client_;
  std::string etag_;
  std::string last_modified_;
  std::atomic<int> socket_fd_{-1};  // the connection's socket, for cancel()
};

}  // namespace pb::upstream
