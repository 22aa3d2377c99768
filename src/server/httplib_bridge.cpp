#include "server/httplib_bridge.h"

#include "server/request_rewrite.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

namespace pb::server {
namespace {

// The bridge drives httplib's internals (process_request on a buffered
// stream, the header and Range handling request_rewrite works around, the
// percent-decoding of header values) as cpp-httplib 0.11.4 does them, which
// the tests of server/ and tests/attacks verified. Another version must be
// verified again before it is built against.
constexpr std::string_view kVerifiedHttplib = "0.11.4";
static_assert(std::string_view(CPPHTTPLIB_VERSION) == kVerifiedHttplib,
              "cpp-httplib is not the version server/httplib_bridge was verified against");

thread_local HttplibBridge::Exchange* tl_exchange = nullptr;

// httplib::Stream over one buffered request; collects the response.
class BufferedStream : public httplib::Stream {
 public:
  explicit BufferedStream(HttplibBridge::Exchange& ex) : ex_(ex) {}

  bool is_readable() const override { return pos_ < ex_.request.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    // End of stream after the request: httplib cannot read past it.
    std::size_t n = std::min(size, ex_.request.size() - pos_);
    std::memcpy(ptr, ex_.request.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (!ex_.taken && !ex_.parked) ex_.response.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = ex_.remote_ip;
    port = ex_.remote_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = ex_.local_ip;
    port = ex_.local_port;
  }
  socket_t socket() const override { return ex_.io && ex_.io->valid() ? ex_.io->fd() : -1; }

 private:
  HttplibBridge::Exchange& ex_;
  std::size_t pos_ = 0;
};

// Whether the response head (httplib's own output) says Connection: close.
bool says_close(const std::string& response) {
  std::size_t end = response.find("\r\n\r\n");
  std::string_view head(response.data(), end == std::string::npos ? response.size() : end);
  std::size_t at = 0;
  while ((at = head.find("\r\n", at)) != std::string_view::npos) {
    at += 2;
    static constexpr std::string_view kName = "connection:";
    if (head.size() - at < kName.size()) break;
    bool match = true;
    for (std::size_t i = 0; i < kName.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(head[at + i])) == kName[i];
    }
    if (!match) continue;
    std::size_t start = at + kName.size();
    std::size_t eol = head.find("\r\n", at);
    std::size_t stop = eol == std::string_view::npos ? head.size() : eol;
    std::string value(head.substr(start, stop - start));
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (value.find("close") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> HttplibBridge::query_credentials() {
  return tl_exchange ? tl_exchange->query_credentials : std::vector<std::string>{};
}

HttplibBridge::HttplibBridge(std::chrono::seconds keepalive_timeout, std::size_t keepalive_requests,
                             std::size_t max_request_body) {
  keep_alive_timeout_sec_ = static_cast<time_t>(keepalive_timeout.count());
  keep_alive_max_count_ = keepalive_requests;
  payload_max_length_ = max_request_body;
  // Not a listening socket: only "not shutting down" to httplib (see the header).
  svr_sock_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

HttplibBridge::~HttplibBridge() {
  socket_t fd = svr_sock_.exchange(INVALID_SOCKET);
  if (fd != INVALID_SOCKET) ::close(fd);
}

void HttplibBridge::handle(Exchange& ex) {
  std::string rewritten;
  if (credential_param_) {
    std::string name = credential_param_();
    if (!name.empty()) rewritten = without_query_param(ex.request, name, ex.query_credentials);
  }
  std::string_view original = ex.request;
  if (!rewritten.empty()) ex.request = rewritten;
  // No ranges, on any route (request_rewrite.h).
  std::string unranged = without_range_headers(ex.request);
  if (!unranged.empty()) ex.request = unranged;
  BufferedStream strm(ex);
  ex.accept_encoding.reset();  // a parked request runs again
  tl_exchange = &ex;
  bool closed = false;
  process_request(strm, ex.close, closed, [&ex](httplib::Request& req) {
    // The values as sent, not as httplib decoded them (for_each_raw_header);
    // then the four fields httplib adds itself.
    req.headers.clear();
    for_each_raw_header(ex.request, [&](std::string_view n, std::string_view v) {
      req.headers.emplace(std::string(n), std::string(v));
    });
    req.set_header("REMOTE_ADDR", req.remote_addr);
    req.set_header("REMOTE_PORT", std::to_string(req.remote_port));
    req.set_header("LOCAL_ADDR", req.local_addr);
    req.set_header("LOCAL_PORT", std::to_string(req.local_port));
    req.headers.erase("Expect");
    // Hidden from httplib's own compression (see the header).
    auto range = req.headers.equal_range("Accept-Encoding");
    for (auto it = range.first; it != range.second; ++it) {
      ex.accept_encoding =
          ex.accept_encoding ? *ex.accept_encoding + ", " + it->second : it->second;
    }
    req.headers.erase("Accept-Encoding");
    req.ranges.clear();  // none can be left (without_range_headers)
  });
  tl_exchange = nullptr;
  ex.request = original;
  if (ex.taken || ex.parked) {
    ex.response.clear();
    return;
  }
  ex.close_after = ex.close || says_close(ex.response);
}

std::optional<std::string> HttplibBridge::accept_encoding(const httplib::Request& req) {
  if (tl_exchange != nullptr) return tl_exchange->accept_encoding;
  std::optional<std::string> joined;
  auto range = req.headers.equal_range("Accept-Encoding");
  for (auto it = range.first; it != range.second; ++it) {
    joined = joined ? *joined + ", " + it->second : it->second;
  }
  return joined;
}

hub::Transport HttplibBridge::take_connection() {
  Exchange* ex = tl_exchange;
  if (ex == nullptr || ex->taken || ex->io == nullptr || !ex->io->valid()) return {};
  ex->taken = true;
  ex->response.clear();
  if (ex->on_take) ex->on_take(*ex->io);
  return std::move(*ex->io);
}

bool HttplibBridge::park(std::function<bool()> ready, std::chrono::steady_clock::time_point until,
                         ParkKind kind) {
  Exchange* ex = tl_exchange;
  if (ex == nullptr || ex->taken || ex->io == nullptr || !ex->io->valid()) return false;
  ex->parked = true;
  ex->ready = std::move(ready);
  ex->park_until = until;
  ex->park_kind = kind;
  ex->response.clear();
  return true;
}

std::optional<std::chrono::steady_clock::time_point> HttplibBridge::admission_deadline(
    ParkKind kind) {
  Exchange* ex = tl_exchange;
  if (ex == nullptr || ex->admission_deadline == std::chrono::steady_clock::time_point{} ||
      ex->parked_kind != kind) {
    return std::nullopt;
  }
  return ex->admission_deadline;
}

void HttplibBridge::keep_long_poll(std::shared_ptr<LongPollSession> session) {
  Exchange* ex = tl_exchange;
  if (ex == nullptr || ex->taken) return;
  ex->long_poll = std::move(session);
}

std::string HttplibBridge::keep_alive_field() const {
  // As write_response_core() writes it.
  return "timeout=" + std::to_string(keep_alive_timeout_sec_) +
         ", max=" + std::to_string(keep_alive_max_count_);
}

}  // namespace pb::server
