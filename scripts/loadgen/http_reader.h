// Incremental reader for the response side of one HTTP/1.1 request: the
// status line and headers, then the body, undoing chunked transfer encoding
// when the server uses it. Body bytes go straight to a sink (the SSE parser),
// so nothing is buffered beyond the response head.
//
// Single-threaded: one reader per connection, driven by the epoll loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pbl {

class HttpReader {
 public:
  class BodySink {
   public:
    virtual ~BodySink() = default;
    // Called once the head is parsed, before any body byte. Returning false
    // rejects the response: feed() then returns kError.
    virtual bool on_head(const HttpReader& reader) = 0;
    virtual void on_body(const char* data, std::size_t size) = 0;
  };

  enum class Status {
    kNeedMore,  // head incomplete, or body streaming on
    kEnd,       // the body ended (last chunk, or Content-Length reached)
    kError,     // malformed or rejected response
  };

  // Longest response head accepted.
  static constexpr std::size_t kMaxHead = 16 * 1024;

  // Consumes `size` bytes, calling the sink's on_head() when the head is
  // complete and on_body() for every body byte after it.
  Status feed(const char* data, std::size_t size, BodySink& sink);

  void reset();

  bool head_done() const { return head_done_; }
  int status_code() const { return status_code_; }
  const std::string& content_type() const { return content_type_; }
  bool chunked() const { return chunked_; }
  // Lower-cased Content-Encoding ("gzip", "deflate"); empty when the body is
  // sent as is. The body handed to the sink is still encoded.
  const std::string& content_encoding() const { return content_encoding_; }
  // For the long-poll client: nchan's position headers, and whether the
  // server keeps the connection for the next request.
  const std::string& etag() const { return etag_; }
  const std::string& last_modified() const { return last_modified_; }
  bool connection_close() const { return connection_close_; }
  const std::string& error() const { return error_; }

 private:
  bool parse_head();
  Status feed_body(const char* data, std::size_t size, BodySink& sink);

  enum class Chunk { kSize, kExt, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kDone };

  std::string head_;
  bool head_done_ = false;
  int status_code_ = 0;
  std::string content_type_;
  bool chunked_ = false;
  std::string content_encoding_;
  std::string etag_;
  std::string last_modified_;
  bool connection_close_ = false;
  bool has_length_ = false;
  std::uint64_t remaining_ = 0;  // Content-Length left, or bytes of the current chunk
  Chunk chunk_ = Chunk::kSize;
  bool size_digits_ = false;
  std::size_t trailer_line_ = 0;  // length of the current trailer line
  std::string error_;
};

}  // namespace pbl
