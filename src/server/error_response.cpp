#include "server/error_response.h"

#include "common/time_format.h"

namespace pb::server {
namespace {

// Seconds a client told "too many" should wait before trying again.
constexpr int kRetryAfterSeconds = 5;

struct Status {
  const char* reason;
  const char* code;
};

Status status_of(int status) {
  switch (status) {
    case 400:
      return {"Bad Request", "bad_request"};
    case 408:
      return {"Request Timeout", "request_timeout"};
    case 411:
      return {"Length Required", "length_required"};
    case 413:
      return {"Content Too Large", "body_too_large"};
    case 417:
      return {"Expectation Failed", "expectation_failed"};
    case 429:
      return {"Too Many Requests", "too_many_connections"};
    case 431:
      return {"Request Header Fields Too Large", "header_too_large"};
    case 501:
      return {"Not Implemented", "not_implemented"};
    case 503:
      return {"Service Unavailable", "unavailable"};
    case 505:
      return {"HTTP Version Not Supported", "version_not_supported"};
    default:
      return {"Error", "error"};
  }
}

}  // namespace

std::string error_response(int status, const std::string& message, const char* code) {
  Status s = status_of(status);
  if (code != nullptr) s.code = code;
  std::string body = std::string("{\"error\":\"") + s.code + "\",\"message\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\') body.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) body.push_back(c);
  }
  body += "\"}\n";
  std::string r =
      "HTTP/1.1 " + std::to_string(status) + " " + s.reason +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\nDate: " + http_date_now() + "\r\n";
  if (status == 503 || status == 429) {
    r += "Retry-After: " + std::to_string(kRetryAfterSeconds) + "\r\n";
  }
  r += "\r\n";
  r += body;
  return r;
}

const std::string& continue_response() {
  static const std::string kText = "HTTP/1.1 100 Continue\r\n\r\n";
  return kText;
}

}  // namespace pb::server
