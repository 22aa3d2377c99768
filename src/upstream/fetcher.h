// One stream instance's HTTP(S) request, as a libcurl easy handle that is
// reused from poll to poll: the validators of the last response
// (If-None-Match, If-Modified-Since), compressed bodies (decoded by curl),
// and every bound of a poll:
//  - `timeout` is the deadline of the whole request (connect, TLS, headers,
//    body: CURLOPT_TIMEOUT_MS), counted from the moment the request is
//    handed to curl, never from a wait for a free connection slot;
//  - the response head is capped by `max_header_bytes` (counted in the
//    header callback);
//  - the decoded body by `max_body` (counted in the write callback, and
//    refused before reading when an unencoded body announces more);
//  - redirects are not followed;
//  - a non-2xx body is kept only for `parse: xml` streams (a SOAP Fault),
//    and only up to kMaxErrorBody.
// A failure says which bound it hit ("timeout: no complete response within
// 2s"). Connections are kept alive and shared by whoever drives the handle
// (the scheduler's curl multi handle, or curl_easy_perform in fetch()).
//
// Threads: one request at a time. prepare() and finish() are called by the
// thread that owns the request at that moment (the scheduler's loop thread),
// the callbacks run on the thread driving curl; nothing here locks.
#pragma once

#include <curl/curl.h>
#include <openssl/x509.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "upstream/backoff.h"
#include "upstream/proxy_env.h"
#include "upstream/url.h"

namespace pb::upstream {

struct FetchResult {
  enum class Kind { kBody, kNotModified, kFailed };
  Kind kind = Kind::kFailed;
  int status = 0;  // HTTP status, 0 if none was received
  // Decompressed, for kBody; for kFailed with a status, the error body when
  // the stream keeps them (parse: xml, at most kMaxErrorBody), else "".
  std::string body;
  std::string content_type;  // the response's Content-Type, with a body ("" if none)
  std::string error;         // for kFailed: what went wrong, for humans
  std::optional<Duration> retry_after;
  std::string etag;                // the response's validators (2xx)
  std::string last_modified;       //
  std::vector<std::string> links;  // its Link header values (RFC 8288), in order
  std::string location;            // its Location header (3xx)
};

// A request of a poll that is not the stream's own (a token request, a
// login): sent as described here, with the stream's bounds and TLS
// settings, and its body kept whatever the status (up to max_body).
struct OtherRequest {
  std::string url;
  std::string method = "POST";
  std::string body;
  std::string content_type;  // sent with POST
  std::vector<std::pair<std::string, std::string>> headers;
};

// The most of a non-2xx body kept, for streams that read them (a SOAP
// Fault); a longer one is dropped, never cut.
constexpr std::size_t kMaxErrorBody = 64u << 10;

// curl_global_init, once per process (thread-safe).
void init_curl();

class Fetcher {
 public:
  // `url` is the stream's URL with parameters already expanded; `cfg` must
  // outlive the fetcher.
  Fetcher(const config::StreamConfig& cfg, const Url& url,
          const ProxySetting& proxy = proxy_from_environment());
  ~Fetcher();
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // The easy handle of the current request, for a multi handle to drive
  // between prepare() and finish().
  CURL* handle() const { return easy_; }
  // "scheme://host:port": connection slots are counted per origin.
  const std::string& origin() const { return origin_; }

  // Sets up the next request: headers with the current validators, empty
  // buffers.
  void prepare();
  // The stream's request to another URL of its origin (a further page),
  // sending these validators instead of the fetcher's own (which it leaves
  // alone).
  void prepare_page(const std::string& url, const std::string& etag,
                    const std::string& last_modified);
  // A request that is not the stream's (see OtherRequest).
  void prepare_other(const OtherRequest& request);
  // "Authorization: Bearer <token>" on the stream's requests ("": none).
  void set_bearer(std::string token) { bearer_ = std::move(token); }
  // A cookie jar shared by every request of this fetcher (login sessions):
  // a curl share handle with CURL_LOCK_DATA_COOKIE, owned by the caller.
  void set_cookie_share(CURLSH* share) { cookie_share_ = share; }
  // What remains of the poll's deadline, for the request about to be sent
  // (after a prepare, before the handle is driven).
  void set_time_left(std::chrono::milliseconds left);
  // The finished request (curl's result code for it) as a result; the
  // handle is released.
  FetchResult finish(CURLcode code, SystemClock::time_point now);

  // prepare(), curl_easy_perform() and finish() on this thread (tests, tools).
  FetchResult fetch(SystemClock::time_point now);

  // Drops a prepared request's handle (a poll abandoned between requests).
  void abandon() { close_handle(); }

  // Forgets the validators: the next request is unconditional.
  void forget_validators();

 private:
  static size_t on_header(char* data, size_t size, size_t count, void* self);
  static size_t on_body(char* data, size_t size, size_t count, void* self);
  static curl_socket_t on_open_socket(void* self, curlsocktype purpose,
                                      struct curl_sockaddr* address);
  static CURLcode on_ssl_ctx(CURL* easy, void* ssl_ctx, void* self);
  static int on_verify(X509_STORE_CTX* store_ctx, void* self);
  size_t header_line(const char* data, size_t len);
  void open_handle(const std::string& url, const std::string& method, const std::string& body);
  void start_request(const std::string& url, const std::string* etag,
                     const std::string* last_modified);
  void reset_response();
  FetchResult result_of(CURLcode code, SystemClock::time_point now);
  void close_handle();
  std::string describe(CURLcode code) const;

  const config::StreamConfig& cfg_;
  std::string origin_;
  std::string url_;
  bool https_;
  std::string proxy_;  // "" for none
  std::string no_proxy_;
  CURL* easy_ = nullptr;  // from prepare() to finish()
  curl_slist* headers_ = nullptr;
  char error_[CURL_ERROR_SIZE] = {};
  std::string etag_;
  std::string last_modified_;
  bool own_validators_ = true;  // the current request's 2xx updates etag_, last_modified_
  bool keep_any_body_ = false;  // the current request keeps the body of every status
  std::string bearer_;
  CURLSH* cookie_share_ = nullptr;

  // The response being received (reset by prepare()).
  int status_ = 0;
  std::size_t header_bytes_ = 0;
  bool head_too_big_ = false;
  bool head_done_ = false;  // the final response's head is complete
  bool body_too_big_ = false;
  bool encoded_ = false;  // Content-Encoding present
  std::optional<unsigned long long> content_length_;
  std::string response_etag_;
  std::string response_last_modified_;
  std::string response_retry_after_;
  std::string response_content_type_;
  std::vector<std::string> response_links_;
  std::string response_location_;
  std::string body_;
  std::size_t body_bytes_ = 0;    // decoded body bytes received, kept or not
  bool keep_error_body_ = false;  // parse: xml (a SOAP Fault comes with any status)
  bool error_body_dropped_ = false;
  int socket_errno_ = 0;          // errno of a socket() that failed (EMFILE, ENFILE)
  int ca_file_certificates_ = 0;  // in ca_file
  std::atomic<bool> trust_logged_{false};
};

}  // namespace pb::upstream
