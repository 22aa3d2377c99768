#include "server/console_assets.h"

#include <cstddef>
#include <string>

namespace pb::server {

namespace generated {
// Defined in the generated console_data.cpp.
extern const char* const kConsoleNames[];
extern const unsigned char* const kConsoleData[];
extern const std::size_t kConsoleSizes[];
extern const std::size_t kConsoleCount;
}  // namespace generated

namespace {

const char* console_content_type(std::string_view file) {
  auto ends = [&](std::string_view suffix) {
    return file.size() >= suffix.size() &&
           file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

bool serve_console_file(std::string_view file, httplib::Response& res) {
  if (file.empty()) file = "index.html";
  for (std::size_t i = 0; i < generated::kConsoleCount; ++i) {
    if (file != generated::kConsoleNames[i]) continue;
    res.status = 200;
    res.set_header("Content-Security-Policy", kConsoleCsp);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Cache-Control", "no-cache");
    const char* type = console_content_type(file);
    // Set as content (not a provider): the post-routing step may compress
    // it, and httplib sends no body to a HEAD.
    res.set_content(reinterpret_cast<const char*>(generated::kConsoleData[i]),
                    generated::kConsoleSizes[i], type);
    return true;
  }
  return false;
}

}  // namespace pb::server
