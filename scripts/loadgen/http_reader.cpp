#include "http_reader.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace pbl {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void HttpReader::reset() {
  *this = HttpReader();
}

HttpReader::Status HttpReader::feed(const char* data, std::size_t size, BodySink& sink) {
  if (head_done_) return feed_body(data, size, sink);
  // Look for the blank line that ends the head, also across feeds.
  const std::size_t old = head_.size();
  head_.append(data, size);
  std::size_t end = head_.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
  std::size_t skip = 4;
  if (end == std::string::npos) {
    end = head_.find("\n\n", old >= 1 ? old - 1 : 0);
    skip = 2;
  }
  if (end == std::string::npos) {
    if (head_.size() > kMaxHead) {
      error_ = "response head too long";
      return Status::kError;
    }
    return Status::kNeedMore;
  }
  const std::size_t body_start = end + skip;
  const std::size_t consumed_here = body_start - old;  // bytes of `data` in the head
  head_.resize(end);
  if (!parse_head()) return Status::kError;
  head_done_ = true;
  head_.clear();
  head_.shrink_to_fit();
  if (!sink.on_head(*this)) {
    if (error_.empty()) error_ = "response rejected";
    return Status::kError;
  }
  if (consumed_here < size) return feed_body(data + consumed_here, size - consumed_here, sink);
  return has_length_ && remaining_ == 0 ? Status::kEnd : Status::kNeedMore;
}

bool HttpReader::parse_head() {
  std::size_t pos = 0;
  bool first = true;
  while (pos <= head_.size()) {
    std::size_t nl = head_.find('\n', pos);
    if (nl == std::string::npos) nl = head_.size();
    std::string line = head_.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = nl + 1;
    if (first) {
      first = false;
      // HTTP/1.1 200 OK
      if (line.compare(0, 5, "HTTP/") != 0 || line.size() < 12) {
        error_ = "bad status line: " + line;
        return false;
      }
      const std::size_t sp = line.find(' ');
      if (sp == std::string::npos || sp + 4 > line.size()) {
        error_ = "bad status line: " + line;
        return false;
      }
      status_code_ = 0;
      for (std::size_t i = sp + 1; i < sp + 4; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(line[i]))) {
          error_ = "bad status code: " + line;
          return false;
        }
        status_code_ = status_code_ * 10 + (line[i] - '0');
      }
      continue;
    }
    if (line.empty()) continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string name = lower(trim(line.substr(0, colon)));
    const std::string value = trim(line.substr(colon + 1));
    if (name == "content-type") {
      content_type_ = value;
    } else if (name == "transfer-encoding") {
      chunked_ = lower(value).find("chunked") != std::string::npos;
    } else if (name == "content-encoding") {
      content_encoding_ = lower(value);
    } else if (name == "etag") {
      etag_ = value;
    } else if (name == "last-modified") {
      last_modified_ = value;
    } else if (name == "connection") {
      connection_close_ = lower(value).find("close") != std::string::npos;
    } else if (name == "content-length") {
      has_length_ = true;
      remaining_ = std::strtoull(value.c_str(), nullptr, 10);
    }
  }
  if (chunked_) {
    has_length_ = false;
    remaining_ = 0;
  }
  return true;
}

HttpReader::Status HttpReader::feed_body(const char* data, std::size_t size, BodySink& sink) {
  if (!chunked_) {
    if (!has_length_) {
      if (size) sink.on_body(data, size);
      return Status::kNeedMore;  // ends when the connection closes
    }
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, size));
    if (n) sink.on_body(data, n);
    remaining_ -= n;
    return remaining_ == 0 ? Status::kEnd : Status::kNeedMore;
  }
  const char* p = data;
  const char* const end = data + size;
  while (p < end) {
    switch (chunk_) {
      case Chunk::kSize: {
        const int v = hex_value(*p);
        if (v >= 0) {
          if (remaining_ > (UINT64_C(1) << 40)) {
            error_ = "chunk too large";
            return Status::kError;
          }
          remaining_ = remaining_ * 16 + static_cast<unsigned>(v);
          size_digits_ = true;
          ++p;
        } else if (!size_digits_) {
          error_ = "bad chunk size";
          return Status::kError;
        } else if (*p == ';' || *p == ' ' || *p == '\t') {
          chunk_ = Chunk::kExt;
          ++p;
        } else if (*p == '\r') {
          chunk_ = Chunk::kSizeLf;
          ++p;
        } else if (*p == '\n') {
          ++p;
          size_digits_ = false;
          chunk_ = remaining_ ? Chunk::kData : Chunk::kTrailer;
          trailer_line_ = 0;
        } else {
          error_ = "bad chunk size";
          return Status::kError;
        }
        break;
      }
      case Chunk::kExt:
        if (*p == '\r') chunk_ = Chunk::kSizeLf;
        if (*p == '\n') {
          size_digits_ = false;
          chunk_ = remaining_ ? Chunk::kData : Chunk::kTrailer;
          trailer_line_ = 0;
        }
        ++p;
        break;
      case Chunk::kSizeLf:
        if (*p != '\n') {
          error_ = "bad chunk size line";
          return Status::kError;
        }
        ++p;
        size_digits_ = false;
        chunk_ = remaining_ ? Chunk::kData : Chunk::kTrailer;
        trailer_line_ = 0;
        break;
      case Chunk::kData: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, end - p));
        sink.on_body(p, n);
        p += n;
        remaining_ -= n;
        if (remaining_ == 0) chunk_ = Chunk::kDataCr;
        break;
      }
      case Chunk::kDataCr:
        if (*p == '\r') {
          chunk_ = Chunk::kDataLf;
        } else if (*p == '\n') {
          chunk_ = Chunk::kSize;
        } else {
          error_ = "missing CRLF after chunk";
          return Status::kError;
        }
        ++p;
        break;
      case Chunk::kDataLf:
        if (*p != '\n') {
          error_ = "missing LF after chunk";
          return Status::kError;
        }
        ++p;
        chunk_ = Chunk::kSize;
        break;
      case Chunk::kTrailer:
        // Trailer lines until an empty one.
        if (*p == '\n') {
          if (trailer_line_ == 0) {
            chunk_ = Chunk::kDone;
            return Status::kEnd;
          }
          trailer_line_ = 0;
        } else if (*p != '\r') {
          ++trailer_line_;
        }
        ++p;
        break;
      case Chunk::kDone:
        return Status::kEnd;
    }
  }
  return chunk_ == Chunk::kDone ? Status::kEnd : Status::kNeedMore;
}

}  // namespace pbl
