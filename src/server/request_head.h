// Request framing as the connection loop sees it: where a request head ends,
// how long its body is, and whether the connection may carry another
// request. httplib parses and routes the same bytes afterwards; this only
// decides what those bytes are, so it is strict where httplib is lenient
// (RFC 9112): anything ambiguous is refused instead of guessed.
//
//  * Every line ends with CRLF; a bare LF or a lone CR is 400 (httplib would
//    skip such a line, another parser would not: a classic desync).
//  * Up to kMaxEmptyLinesBeforeRequest empty lines before the request line
//    are skipped (RFC 9112 2.2); more are 400. Every byte before the end of
//    the head, these lines included, counts against server.max_header_bytes.
//  * Header names are tokens followed directly by ":" (whitespace before the
//    colon is 400); obsolete line folding is 400; control characters in a
//    value are 400.
//  * Content-Length is digits only and given once (two are 400, even equal
//    ones); with Transfer-Encoding it is 400. Transfer-Encoding alone is
//    refused: 411 for chunked (send a length), 501 for any other coding.
//  * HTTP/1.1 needs exactly one Host (RFC 9112 3.2); other versions than
//    1.0 and 1.1 get 505.
//  * Expect: 100-continue is noted (the loop answers it); other
//    expectations get 417.
//
// Threads: plain functions and a value type, used by the loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pb::server {

struct RequestHead {
  std::size_t skip = 0;        // empty lines before the request line
  std::size_t head_bytes = 0;  // request line and headers, up to the blank line, after `skip`
  std::uint64_t content_length = 0;
  bool keep_alive = true;  // the client allows another request on the connection
  bool expect_continue = false;
  std::string method;
};

// Where the head of the request at the front of a buffer ends. Resumes where
// the previous call stopped, so that a head arriving a byte at a time costs
// linear time. reset() before the next request.
// Empty lines tolerated before a request line (RFC 9112 2.2 asks to ignore
// "at least one"; a client that sends a CRLF after a POST body sends one).
constexpr std::size_t kMaxEmptyLinesBeforeRequest = 2;

class HeadScanner {
 public:
  // kBadLeading: more than kMaxEmptyLinesBeforeRequest empty lines.
  enum Result { kIncomplete, kComplete, kBad, kBadLeading };

  // Looks at `buf` (which only grows between calls). On kComplete, `skip`
  // and `head_bytes` say where the head lies; on kBad the connection must
  // get 400.
  Result scan(std::string_view buf, std::size_t& skip, std::size_t& head_bytes);
  void reset() { *this = HeadScanner(); }
  // Bytes seen so far, empty lines before the request line included (for
  // the size cap).
  std::size_t seen() const { return pos_; }

 private:
  std::size_t pos_ = 0;          // next byte to look at
  std::size_t line_start_ = 0;   // start of the current line
  std::size_t skip_ = 0;         // empty lines before the request line
  std::size_t empty_lines_ = 0;  // empty lines before the request line
  bool started_ = false;         // the request line has begun
};

// Parses a complete head (request line to blank line, CRLFs included).
// Returns 0 and fills `out`, or the status to answer (400, 411, 417, 501,
// 505) with `why` set.
int parse_request_head(std::string_view head, RequestHead& out, std::string& why);

}  // namespace pb::server
