// Raw HTTP/1.1 over TCP for hostile-peer tests: exact bytes out, whatever
// comes back in, and a parser that splits a byte stream into responses (so a
// test can count them: a smuggled request shows up as a second one).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace pb::testing {

class RawConn {
 public:
  // Connects to host:port; with `from`, binds that local address first (a
  // client from another address: 127.0.0.2...).
  explicit RawConn(int port, const std::string& host = "127.0.0.1", const std::string& from = "");
  ~RawConn();
  RawConn(RawConn&& o) noexcept;
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  bool send(std::string_view bytes);
  void shutdown_write();
  void close();

  // Appends what arrives within `timeout` to received(); false on timeout
  // or when the peer has closed.
  bool read_some(std::chrono::milliseconds timeout);
  // Reads until the peer closes (true) or `timeout` passes (false).
  bool read_until_closed(std::chrono::milliseconds timeout);
  // Reads until `text` has arrived (true) or `timeout` passes.
  bool read_until(const std::string& text, std::chrono::milliseconds timeout);
  // Reads until `n` complete responses have arrived.
  bool read_responses(std::size_t n, std::chrono::milliseconds timeout);

  const std::string& received() const { return in_; }
  bool peer_closed() const { return closed_; }

 private:
  int fd_ = -1;
  std::string in_;
  bool closed_ = false;
};

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers, without the blank line
  std::string body;
  bool has_header(const std::string& name) const;
  std::string header(const std::string& name) const;
};

// Splits a stream of responses (bodies by Content-Length; none at all for
// answers to HEAD). A trailing incomplete or unparsable part is returned as
// a response with status -1.
std::vector<RawResponse> parse_responses(const std::string& stream, bool to_head = false);

// Threads of a process, from /proc/<pid>/status; -1 if unreadable.
int process_threads(pid_t pid);

}  // namespace pb::testing
