#include "server/refusal_response.h"

#include "common/time_format.h"
#include "json/document.h"
#include "server/lookup_status.h"

namespace pb::server {

std::string refusal_response(const core::LookupError& err) {
  const bool not_found = err.kind == core::LookupFailure::kNotFound;
  const int status = lookup_status(not_found ? err.kind : core::LookupFailure::kBusy);
  json::Json doc = json::Json::object();
  doc["error"] = not_found ? "not_found" : "unavailable";
  doc["message"] = err.message;
  std::string body = json::dump(doc) + "\n";
  return "HTTP/1.1 " + std::to_string(status) +
         (not_found ? " Not Found" : " Service Unavailable\r\nRetry-After: 1") +
         "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nDate: " + http_date_now() + "\r\n\r\n" + body;
}

}  // namespace pb::server
