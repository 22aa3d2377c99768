#include "server/static_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/time_format.h"
#include "server/api.h"
#include "server/entity_tag.h"

namespace pb::server {
namespace {

struct TypeOf {
  const char* ext;
  const char* type;
};

// The types a page's files need; anything else is application/octet-stream.
constexpr TypeOf kTypes[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/vnd.microsoft.icon"},
    {"woff2", "font/woff2"},
    {"wasm", "application/wasm"},
};

std::string type_of(const std::string& path) {
  std::size_t dot = path.rfind('.');
  std::size_t slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
    return "application/octet-stream";
  }
  std::string ext = path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& t : kTypes) {
    if (ext == t.ext) return t.type;
  }
  return "application/octet-stream";
}

// Whether the raw target holds a NUL, decoded or encoded ("%00").
bool has_nul(const httplib::Request& req) {
  if (req.path.find('\0') != std::string::npos) return true;
  const std::string& t = req.target;
  for (std::size_t i = 0; i + 2 < t.size(); ++i) {
    if (t[i] == '%' && t[i + 1] == '0' && t[i + 2] == '0') return true;
  }
  return false;
}

std::string real(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return {};
  return buf;
}

}  // namespace

void register_static_files(httplib::Server& server, const std::string& dir) {
  server.Get(R"(/.*)", [dir](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Content-Type-Options", "nosniff");
    if (has_nul(req)) {
      set_error(res, 400, "a path cannot hold a NUL byte");
      return;
    }
    std::string rel = req.path;
    for (std::size_t at = 0; (at = rel.find("/..", at)) != std::string::npos; ++at) {
      std::size_t end = at + 3;
      if (end == rel.size() || rel[end] == '/') {
        set_error(res, 400, "a path cannot go up with ..");
        return;
      }
    }
    if (rel.empty() || rel.back() == '/') rel += "index.html";
    // Resolved at each request: the directory's contents may change.
    const std::string root = real(dir);
    const std::string file = real(dir + rel);
    struct stat st {};
    if (root.empty() || file.empty() || file.compare(0, root.size() + 1, root + "/") != 0 ||
        ::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      set_error(res, 404, "nothing at " + req.path);
      return;
    }
    if (static_cast<std::size_t>(st.st_size) > kMaxStaticFileBytes) {
      set_error(res, 500, "file too large for pollbridge to serve");
      return;
    }
    std::ostringstream tag;
    tag << "W/\"" << std::hex << st.st_size << '-' << st.st_mtim.tv_sec << '-' << st.st_mtim.tv_nsec
        << '"';
    const std::string etag = tag.str();
    const auto mtime = SystemClock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
    res.set_header("ETag", etag);
    res.set_header("Last-Modified", http_date(mtime));
    res.set_header("Cache-Control", "no-cache");
    bool not_modified = false;
    if (req.has_header("If-None-Match")) {
      not_modified = none_match_hits(req.get_header_value("If-None-Match"), etag);
    } else if (req.has_header("If-Modified-Since")) {
      auto since = parse_http_date(req.get_header_value("If-Modified-Since"));
      not_modified = since && mtime <= *since;
    }
    if (not_modified) {
      res.status = 304;
      return;
    }
    std::ifstream in(file, std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      set_error(res, 500, "cannot read " + req.path);
      return;
    }
    res.set_content(std::move(body), type_of(file));
  });
}

}  // namespace pb::server
