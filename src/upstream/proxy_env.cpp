#include "upstream/proxy_env.h"

#include <cstdlib>

namespace pb::upstream {
namespace {

std::string first_set(const Getenv& getenv, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const char* v = getenv(name);
    if (v != nullptr && *v != '\0') return v;
  }
  return "";
}

}  // namespace

ProxySetting read_proxy_environment(const Getenv& getenv) {
  ProxySetting p;
  const std::string all = first_set(getenv, {"all_proxy", "ALL_PROXY"});
  p.http = first_set(getenv, {"http_proxy", "HTTP_PROXY"});
  p.https = first_set(getenv, {"https_proxy", "HTTPS_PROXY"});
  if (p.http.empty()) p.http = all;
  if (p.https.empty()) p.https = all;
  p.no_proxy = first_set(getenv, {"no_proxy", "NO_PROXY"});
  return p;
}

const ProxySetting& proxy_from_environment() {
  static const ProxySetting setting =
      read_proxy_environment([](const char* name) { return std::getenv(name); });
  return setting;
}

std::string without_userinfo(const std::string& url) {
  const std::size_t scheme_end = url.find("://");
  const std::size_t start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const std::size_t authority_end = url.find_first_of("/?#", start);
  const std::size_t at =
      url.rfind('@', authority_end == std::string::npos ? url.size() - 1 : authority_end - 1);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + url.substr(at + 1);
}

}  // namespace pb::upstream
