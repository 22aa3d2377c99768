// A real SSE client for tests: a blocking TCP connection that sends one GET,
// reads the response head and then parses the event stream byte by byte with
// the WHATWG rules (CR, LF and CRLF line ends; data lines joined with LF;
// the last-event-id buffer persists across events; comments counted). A
// response with `Content-Encoding: gzip` or `deflate` is decoded as its bytes
// arrive (zlib's streaming inflate), so events are read as soon as their
// compressed bytes are.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/tls_client.h"

namespace pb::testing {

struct SseEvent {
  std::string id;    // the last-event-id buffer when the event was dispatched
  std::string type;  // "message" when no event: field was given
  std::string data;
  bool had_id = false;  // the event itself carried an id: field
};

class SseClient {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  SseClient(int port, const std::string& target, const Headers& headers = {},
            const std::string& host = "127.0.0.1");
  // The same over TLS.
  SseClient(const TlsClientOptions& tls, int port, const std::string& target,
            const Headers& headers = {});
  // Reads a stream that a server writes to `fd` (a connected socket, e.g.
  // one end of a socketpair whose other end went to the hub); no request
  // is sent. Takes ownership of fd.
  struct Adopt {};
  SseClient(Adopt, int fd);
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  int status() const { return status_; }
  // Response header value (case-insensitive name), empty if absent.
  std::string header(const std::string& name) const;
  bool has_header(const std::string& name) const;
  // The response body for non-SSE answers (read until close or length).
  std::string body(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

  // The next dispatched event, or nullopt on timeout or end of stream.
  std::optional<SseEvent> next(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // Up to n events; stops early on timeout.
  std::vector<SseEvent> take(std::size_t n,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // Waits until the server closes the stream (true) or the timeout passes.
  bool wait_closed(std::chrono::milliseconds timeout);

  int comments() const { return comments_; }
  std::optional<long> retry() const { return retry_; }
  const std::string& last_event_id() const { return last_id_; }
  const std::string& raw() const { return raw_; }  // every body byte received (decoded)
  // Body bytes as they came over the connection (compressed, when coded).
  std::size_t wire_bytes() const { return wire_bytes_; }
  bool eof() const { return eof_; }
  void close();

 private:
  bool read_more(std::chrono::steady_clock::time_point deadline);
  // Appends body bytes from the connection to buf_, decoded when coded.
  bool deliver(const char* data, std::size_t n);
  bool read_head(std::chrono::steady_clock::time_point deadline);
  // Parses complete lines from buf_; returns an event if one was dispatched.
  std::optional<SseEvent> parse();
  void line(const std::string& l, std::optional<SseEvent>& out);

  bool send_request(int port, const std::string& target, const Headers& headers,
                    const std::string& host);

  int fd_ = -1;
  std::unique_ptr<TlsConn> tls_;
  int status_ = 0;
  Headers headers_;
  std::string buf_;          // unparsed body bytes
  std::size_t scanned_ = 0;  // of buf_, known to hold no line end
  std::string raw_;
  bool eof_ = false;
  bool pending_cr_ = false;  // last byte was CR: a following LF is not a new line
  std::string data_, type_, last_id_;
  bool had_id_ = false;
  int comments_ = 0;
  std::optional<long> retry_;
  struct Inflater;
  std::unique_ptr<Inflater> inflater_;  // set for a coded response
  std::size_t wire_bytes_ = 0;
};

}  // namespace pb::testing
