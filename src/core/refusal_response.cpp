#include "core/refusal_response.h"

#include "json/document.h"

namespace pb::core {

std::string refusal_response(const LookupError& err) {
  const bool not_found = err.status == 404;
  json::Json doc = json::Json::object();
  doc["error"] = not_found ? "not_found" : "unavailable";
  doc["message"] = err.message;
  std::string body = json::dump(doc) + "\n";
  return std::string("HTTP/1.1 ") +
         (not_found ? "404 Not Found" : "503 Service Unavailable\r\nRetry-After: 1") +
         "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace pb::core
