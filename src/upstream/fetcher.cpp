#include "upstream/fetcher.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>

#include "common/mutex.h"
#include "config/duration.h"
#include "log/log.h"

namespace pb::upstream {
namespace {

// Running out of descriptors is logged at most this often (process-wide):
// with thousands of streams every poll would otherwise log it.
constexpr std::chrono::seconds kDescriptorLogPeriod{10};

bool iequals_prefix(const char* data, std::size_t len, const char* name) {
  const std::size_t n = std::strlen(name);
  if (len < n + 1 || data[n] != ':') return false;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::tolower(static_cast<unsigned char>(data[i])) != name[i]) return false;
  }
  return true;
}

// The value of a header line "Name: value\r\n" whose name has `name_len`
// characters, without surrounding whitespace.
std::string header_value(const char* data, std::size_t len, std::size_t name_len) {
  std::size_t b = name_len + 1;
  std::size_t e = len;
  while (b < e && (data[b] == ' ' || data[b] == '\t')) ++b;
  while (e > b && (data[e - 1] == '\r' || data[e - 1] == '\n' || data[e - 1] == ' ' ||
                   data[e - 1] == '\t')) {
    --e;
  }
  return std::string(data + b, e - b);
}

void log_out_of_descriptors(int err) {
  // When it was last logged (by any fetcher).
  struct LastLogged {
    Mutex mu;
    std::chrono::steady_clock::time_point at PB_GUARDED_BY(mu);  // the epoch: never
  };
  static LastLogged last;
  const auto now = std::chrono::steady_clock::now();
  {
    MutexLock lock(last.mu);
    if (last.at.time_since_epoch().count() != 0 && now - last.at < kDescriptorLogPeriod) return;
    last.at = now;
  }
  log::error(
      "out of file descriptors: upstream connections cannot be opened; raise the nofile limit "
      "(ulimit -n, systemd LimitNOFILE) or lower server.max_clients",
      {{"errno", err == ENFILE ? "ENFILE" : "EMFILE"}, {"error", std::strerror(err)}});
}

}  // namespace

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Fetcher::Fetcher(const config::StreamConfig& cfg, const Url& url, const ProxySetting& proxy)
    : cfg_(cfg),
      origin_(url.origin()),
      url_(url.origin() + url.target),
      https_(url.scheme == "https"),
      proxy_(proxy.for_scheme(url.scheme)),
      no_proxy_(proxy.no_proxy),
      keep_error_body_(cfg.parse == config::ParseMode::kXml) {
  init_curl();
  if (!cfg_.ca_file.empty()) {
    X509_STORE* probe = X509_STORE_new();
    if (X509_STORE_load_file(probe, cfg_.ca_file.c_str()) == 1) {
      ca_file_certificates_ = sk_X509_OBJECT_num(X509_STORE_get0_objects(probe));
    }
    X509_STORE_free(probe);
    ERR_clear_error();
  }
}

void Fetcher::open_handle(const std::string& url, const std::string& method,
                          const std::string& body) {
  easy_ = curl_easy_init();
  if (easy_ == nullptr) throw std::runtime_error("curl_easy_init failed");
  auto set = [this](CURLoption opt, auto value) { curl_easy_setopt(easy_, opt, value); };
  set(CURLOPT_URL, url.c_str());
  // Sent as written: parameter values are percent-encoded already, and
  // dot segments are the upstream's business.
  set(CURLOPT_PATH_AS_IS, 1L);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_NOSIGNAL, 1L);
  // Removing a transfer that is resolving a name must not wait for the
  // resolver thread (curl would join it otherwise).
  set(CURLOPT_QUICK_EXIT, 1L);
  set(CURLOPT_ERRORBUFFER, error_);
  set(CURLOPT_FOLLOWLOCATION, 0L);
  const long timeout_ms = static_cast<long>(cfg_.timeout.count());
  set(CURLOPT_TIMEOUT_MS, timeout_ms);
  set(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  // "" asks for every encoding this libcurl decodes (br, gzip, deflate, zstd)
  // and decodes the body before the write callback sees it.
  set(CURLOPT_ACCEPT_ENCODING, "");
  set(CURLOPT_HEADERFUNCTION, &Fetcher::on_header);
  set(CURLOPT_HEADERDATA, this);
  set(CURLOPT_WRITEFUNCTION, &Fetcher::on_body);
  set(CURLOPT_WRITEDATA, this);
  set(CURLOPT_OPENSOCKETFUNCTION, &Fetcher::on_open_socket);
  set(CURLOPT_OPENSOCKETDATA, this);
  set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  // "" means no proxy, and stops curl from reading the environment itself.
  set(CURLOPT_PROXY, proxy_.c_str());
  if (!no_proxy_.empty()) set(CURLOPT_NOPROXY, no_proxy_.c_str());
  bool has_user_agent = false;
  for (const auto& [k, v] : cfg_.headers) {
    std::string lower = k;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    has_user_agent = has_user_agent || lower == "user-agent";
  }
  if (!has_user_agent) set(CURLOPT_USERAGENT, "pollbridge/" PB_VERSION);
  if (method == "POST") {
    set(CURLOPT_POST, 1L);
    // Copied: the body may be a temporary (a token request's form).
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    set(CURLOPT_COPYPOSTFIELDS, body.c_str());
  } else {
    set(CURLOPT_HTTPGET, 1L);
  }
  if (cookie_share_ != nullptr) {
    // The session's cookies (RFC 6265, curl's cookie engine) live in the
    // share, so they survive this handle.
    set(CURLOPT_SHARE, cookie_share_);
    set(CURLOPT_COOKIEFILE, "");
  }
  if (https_) {
    set(CURLOPT_SSL_VERIFYPEER, cfg_.tls_verify ? 1L : 0L);
    set(CURLOPT_SSL_VERIFYHOST, cfg_.tls_verify ? 2L : 0L);
    set(CURLOPT_SSL_CTX_FUNCTION, &Fetcher::on_ssl_ctx);
    set(CURLOPT_SSL_CTX_DATA, this);
    if (!cfg_.ca_file.empty()) {
      // ca_file is libcurl's CA file for this stream, and the system bundle
      // is added to the same store in on_ssl_ctx. Loading ca_file in the
      // callback alone would leave libcurl unaware of it: it would hand a
      // connection verified with ca_file to a stream without it (measured
      // with 7.88: a second handle without ca_file reused it and
      // "succeeded"). libcurl matches connections, sessions and its CA cache
      // by the CA file, so each trust set keeps its own.
      set(CURLOPT_CAINFO, cfg_.ca_file.c_str());
      set(CURLOPT_CA_CACHE_TIMEOUT, 0L);
    }
    if (!cfg_.client_cert.empty()) {
      set(CURLOPT_SSLCERT, cfg_.client_cert.c_str());
      set(CURLOPT_SSLCERTTYPE, "PEM");
      set(CURLOPT_SSLKEY, cfg_.client_key.c_str());
      set(CURLOPT_SSLKEYTYPE, "PEM");
    }
  }
}

void Fetcher::close_handle() {
  if (easy_ != nullptr) curl_easy_cleanup(easy_);
  easy_ = nullptr;
}

Fetcher::~Fetcher() {
  close_handle();
  curl_slist_free_all(headers_);
}

void Fetcher::forget_validators() {
  etag_.clear();
  last_modified_.clear();
}

void Fetcher::prepare() {
  start_request(url_, &etag_, &last_modified_);
  own_validators_ = true;
}

void Fetcher::prepare_page(const std::string& url, const std::string& etag,
                           const std::string& last_modified) {
  start_request(url, &etag, &last_modified);
  own_validators_ = false;
}

void Fetcher::set_time_left(std::chrono::milliseconds left) {
  if (easy_ == nullptr) return;
  const long ms = static_cast<long>(std::max<std::chrono::milliseconds::rep>(left.count(), 1));
  curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, ms);
}

void Fetcher::prepare_other(const OtherRequest& request) {
  close_handle();
  open_handle(request.url, request.method, request.body);
  curl_slist* list = nullptr;
  for (const auto& [k, v] : request.headers) {
    const std::string line = v.empty() ? k + ";" : k + ": " + v;
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) continue;
    list = curl_slist_append(list, line.c_str());
  }
  if (request.method == "POST") {
    list = curl_slist_append(list, ("Content-Type: " + request.content_type).c_str());
  }
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, list);
  curl_slist_free_all(headers_);
  headers_ = list;
  own_validators_ = false;
  keep_any_body_ = true;
  reset_response();
}

void Fetcher::start_request(const std::string& url, const std::string* etag,
                            const std::string* last_modified) {
  // A handle per request: between polls a stream holds no libcurl state
  // (about 30 KiB a handle once used); connections, the DNS cache and TLS
  // sessions live in the multi handle and its connection cache.
  close_handle();
  open_handle(url, cfg_.method, cfg_.body);
  keep_any_body_ = false;
  curl_slist* list = nullptr;
  auto add = [&list](const std::string& line) {
    // A line break or NUL would end the header early and start another one
    // (request splitting). The config's headers are checked at load and
    // client values arrive as sent (server/request_rewrite.h); this is the
    // last line of defence for anything that slipped through.
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) return;
    list = curl_slist_append(list, line.c_str());
  };
  bool has_accept = false;
  bool has_content_type = false;
  for (const auto& [k, v] : cfg_.headers) {
    std::string lower = k;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    has_accept = has_accept || lower == "accept";
    has_content_type = has_content_type || lower == "content-type";
    // "Name;" is curl's way to send a header with an empty value.
    add(v.empty() ? k + ";" : k + ": " + v);
  }
  if (!has_accept) {
    if (cfg_.diff == config::DiffMode::kText) {
      add("Accept: */*");
    } else if (cfg_.parse == config::ParseMode::kXml) {
      add("Accept: application/xml, text/xml, */*;q=0.5");
    } else {
      add("Accept: application/json, */*;q=0.5");
    }
  }
  if (!etag->empty()) add("If-None-Match: " + *etag);
  if (!last_modified->empty()) add("If-Modified-Since: " + *last_modified);
  if (!bearer_.empty()) add("Authorization: Bearer " + bearer_);
  if (cfg_.method == "POST" && !has_content_type) add("Content-Type: " + cfg_.content_type);
  // No "Expect: 100-continue" round trip before a POST body.
  add("Expect:");
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, list);
  curl_slist_free_all(headers_);
  headers_ = list;
  reset_response();
}

void Fetcher::reset_response() {
  error_[0] = '\0';
  status_ = 0;
  header_bytes_ = 0;
  head_too_big_ = false;
  head_done_ = false;
  body_too_big_ = false;
  encoded_ = false;
  content_length_.reset();
  response_etag_.clear();
  response_last_modified_.clear();
  response_retry_after_.clear();
  response_content_type_.clear();
  response_links_.clear();
  response_location_.clear();
  body_.clear();
  body_.shrink_to_fit();
  body_bytes_ = 0;
  error_body_dropped_ = false;
  socket_errno_ = 0;
}

size_t Fetcher::on_header(char* data, size_t size, size_t count, void* self) {
  return static_cast<Fetcher*>(self)->header_line(data, size * count);
}

size_t Fetcher::header_line(const char* data, size_t len) {
  header_bytes_ += len;
  if (header_bytes_ > cfg_.max_header_bytes) {
    head_too_big_ = true;
    return 0;  // aborts the transfer
  }
  if (len >= 5 && std::memcmp(data, "HTTP/", 5) == 0) {
    // A new response head (after a 1xx, there is another).
    const char* sp = static_cast<const char*>(std::memchr(data, ' ', len));
    status_ = 0;
    if (sp != nullptr && sp + 4 <= data + len) {
      for (int i = 1; i <= 3; ++i) {
        if (sp[i] < '0' || sp[i] > '9') break;
        status_ = status_ * 10 + (sp[i] - '0');
      }
    }
    encoded_ = false;
    content_length_.reset();
    response_etag_.clear();
    response_last_modified_.clear();
    response_retry_after_.clear();
    response_content_type_.clear();
    response_links_.clear();
    response_location_.clear();
    return len;
  }
  if (len <= 2 && (len == 0 || data[0] == '\r' || data[0] == '\n')) {
    if (status_ >= 200) head_done_ = true;
    // End of a head. A 2xx body that announces more than max_body without an
    // encoding cannot fit: refuse it before reading it.
    if (status_ >= 200 && status_ < 300 && !encoded_ && content_length_ &&
        *content_length_ > cfg_.max_body) {
      body_too_big_ = true;
      return 0;
    }
    return len;
  }
  if (iequals_prefix(data, len, "etag")) {
    response_etag_ = header_value(data, len, 4);
  } else if (iequals_prefix(data, len, "last-modified")) {
    response_last_modified_ = header_value(data, len, 13);
  } else if (iequals_prefix(data, len, "retry-after")) {
    response_retry_after_ = header_value(data, len, 11);
  } else if (iequals_prefix(data, len, "content-type")) {
    response_content_type_ = header_value(data, len, 12);
  } else if (iequals_prefix(data, len, "link")) {
    response_links_.push_back(header_value(data, len, 4));
  } else if (iequals_prefix(data, len, "location")) {
    response_location_ = header_value(data, len, 8);
  } else if (iequals_prefix(data, len, "content-encoding")) {
    const std::string v = header_value(data, len, 16);
    encoded_ = !v.empty() && v != "identity";
  } else if (iequals_prefix(data, len, "content-length")) {
    const std::string v = header_value(data, len, 14);
    if (!v.empty() && v.size() <= 19 &&
        std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      content_length_ = std::stoull(v);
    }
  }
  return len;
}

size_t Fetcher::on_body(char* data, size_t size, size_t count, void* self) {
  auto* f = static_cast<Fetcher*>(self);
  const size_t len = size * count;
  // Decoded bytes: max_body holds after decompression. Bodies of other
  // statuses are counted (so they are bounded too) but not kept.
  f->body_bytes_ += len;
  if (f->body_bytes_ > f->cfg_.max_body) {
    f->body_too_big_ = true;
    return 0;  // aborts the transfer
  }
  if ((f->status_ >= 200 && f->status_ < 300) || f->keep_any_body_) {
    f->body_.append(data, len);
  } else if (f->keep_error_body_ && f->head_done_ && !f->error_body_dropped_) {
    if (f->body_.size() + len > kMaxErrorBody) {
      f->error_body_dropped_ = true;
      f->body_.clear();
    } else {
      f->body_.append(data, len);
    }
  }
  return len;
}

curl_socket_t Fetcher::on_open_socket(void* self, curlsocktype /*purpose*/,
                                      struct curl_sockaddr* address) {
  const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd < 0) {
    auto* f = static_cast<Fetcher*>(self);
    f->socket_errno_ = errno;
    if (errno == EMFILE || errno == ENFILE) log_out_of_descriptors(errno);
    return CURL_SOCKET_BAD;
  }
  return fd;
}

CURLcode Fetcher::on_ssl_ctx(CURL* easy, void* ssl_ctx, void* self) {
  // Called for each new TLS connection. Without ca_file libcurl loads the
  // system bundle itself; with it, ca_file is libcurl's CA file (see the
  // constructor) and the system bundle is added here, to the same store,
  // so ca_file adds to the system's CAs. (libcurl 7.88 fills the store after
  // this callback, newer versions before; either way both end up in it.)
  auto* f = static_cast<Fetcher*>(self);
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  if (!f->cfg_.ca_file.empty()) {
    char* system = nullptr;
    curl_easy_getinfo(easy, CURLINFO_CAINFO, &system);  // the built-in bundle
    if (system != nullptr && X509_STORE_load_file(SSL_CTX_get_cert_store(ctx), system) != 1) {
      ERR_clear_error();
      log::warn("cannot load the system CA bundle beside ca_file",
                {{"stream", f->cfg_.name}, {"bundle", system}});
    }
  }
  SSL_CTX_set_cert_verify_callback(ctx, &Fetcher::on_verify, f);
  return CURLE_OK;
}

int Fetcher::on_verify(X509_STORE_CTX* store_ctx, void* self) {
  // The store as the certificate is checked against it: say once what it
  // holds, then verify as OpenSSL would have.
  auto* f = static_cast<Fetcher*>(self);
  if (!f->trust_logged_.exchange(true)) {
    const int total =
        sk_X509_OBJECT_num(X509_STORE_get0_objects(X509_STORE_CTX_get0_store(store_ctx)));
    log::debug("upstream trust store", {{"stream", f->cfg_.name},
                                        {"system_certificates", total - f->ca_file_certificates_},
                                        {"ca_file_certificates", f->ca_file_certificates_}});
  }
  return X509_verify_cert(store_ctx);
}

std::string Fetcher::describe(CURLcode code) const {
  const std::string detail = error_[0] != '\0' ? std::string(error_) : curl_easy_strerror(code);
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return "cannot resolve the upstream host";
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "cannot resolve the proxy host";
    case CURLE_COULDNT_CONNECT: {
      long os_errno = 0;
      curl_easy_getinfo(easy_, CURLINFO_OS_ERRNO, &os_errno);
      return os_errno
                 ? "cannot connect (" + std::string(std::strerror(static_cast<int>(os_errno))) + ")"
                 : "cannot connect";
    }
    case CURLE_PEER_FAILED_VERIFICATION: {
      long result = 0;
      curl_easy_getinfo(easy_, CURLINFO_SSL_VERIFYRESULT, &result);
      return "TLS certificate verification failed" +
             (result ? ": " + std::string(X509_verify_cert_error_string(result)) : std::string());
    }
    case CURLE_SSL_CONNECT_ERROR:
      return "TLS handshake failed: " + detail;
    case CURLE_SSL_CACERT_BADFILE:
      return "cannot load the CA certificates of ca_file";
    case CURLE_SSL_CERTPROBLEM:
      return "cannot use client_cert/client_key: " + detail;
    case CURLE_GOT_NOTHING:
      return "the upstream closed the connection without answering";
    case CURLE_PARTIAL_FILE:
      return "the response ended before its announced length";
    case CURLE_BAD_CONTENT_ENCODING:
      return "cannot decompress the body: " + detail;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return "malformed response: " + detail;
    case CURLE_RECV_ERROR:
      return "receiving the response failed: " + detail;
    case CURLE_SEND_ERROR:
      return "sending the request failed: " + detail;
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return "HTTP/2 error: " + detail;
    case CURLE_PROXY:
      return "proxy error: " + detail;
    default:
      return detail;
  }
}

FetchResult Fetcher::result_of(CURLcode code, SystemClock::time_point now) {
  FetchResult result;
  if (code != CURLE_OK) {
    result.kind = FetchResult::Kind::kFailed;
    if (head_too_big_ || (code == CURLE_OUT_OF_MEMORY && !head_done_)) {
      // The second case: one header line past libcurl's own limit (100 KiB),
      // which it checks before the line reaches the header callback and
      // reports as running out of memory.
      result.error =
          "response headers larger than max_header_bytes (" +
          std::to_string(std::min<std::size_t>(cfg_.max_header_bytes, CURL_MAX_HTTP_HEADER)) + ")";
    } else if (body_too_big_) {
      result.status = status_;
      result.error = "body larger than max_body (" + std::to_string(cfg_.max_body) + " bytes)";
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
      result.error =
          "timeout: no complete response within " + config::format_duration(cfg_.timeout);
    } else if (socket_errno_ == EMFILE || socket_errno_ == ENFILE) {
      result.error = std::string("out of file descriptors (") + std::strerror(socket_errno_) +
                     "): cannot open a connection to the upstream";
    } else {
      result.error = describe(code);
    }
    body_.clear();
    body_.shrink_to_fit();
    return result;
  }
  long status = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
  result.status = static_cast<int>(status);
  result.links = std::move(response_links_);
  result.location = response_location_;
  if (status == 304) {
    result.kind = FetchResult::Kind::kNotModified;
    return result;
  }
  if (status < 200 || status >= 300) {
    result.kind = FetchResult::Kind::kFailed;
    result.error = "upstream answered HTTP " + std::to_string(status);
    if (!response_retry_after_.empty() && (status == 429 || status == 503)) {
      result.retry_after = parse_retry_after(response_retry_after_, now);
    }
    if (keep_any_body_ || (keep_error_body_ && !error_body_dropped_)) {
      result.body = std::move(body_);
      result.content_type = response_content_type_;
    }
    body_ = std::string();
    return result;
  }
  if (own_validators_) {
    etag_ = response_etag_;
    last_modified_ = response_last_modified_;
  }
  result.etag = response_etag_;
  result.last_modified = response_last_modified_;
  result.kind = FetchResult::Kind::kBody;
  result.body = std::move(body_);
  result.content_type = response_content_type_;
  body_ = std::string();
  return result;
}

FetchResult Fetcher::finish(CURLcode code, SystemClock::time_point now) {
  FetchResult result = result_of(code, now);
  close_handle();
  return result;
}

FetchResult Fetcher::fetch(SystemClock::time_point now) {
  prepare();
  CURLcode code = curl_easy_perform(easy_);
  return finish(code, now);
}

}  // namespace pb::upstream
