// Which HTTP proxy an upstream request goes through, from the environment as
// curl's command line and most tools read it:
//   http:// URLs   http_proxy, then HTTP_PROXY
//   https:// URLs  https_proxy, then HTTPS_PROXY
//   either         all_proxy, then ALL_PROXY, when the above are unset
//   exceptions     no_proxy, then NO_PROXY (host names, domain suffixes,
//                  IP addresses, CIDR ranges, or "*"; matched by curl)
// libcurl alone ignores upper-case HTTP_PROXY (the "httpoxy" guard for CGI
// programs, whose environment a request can set); pollbridge is not a CGI
// program, so both spellings count. The values are read once, at start.
//
// Pure apart from reading the environment; callable from any thread.
#pragma once

#include <functional>
#include <string>

namespace pb::upstream {

struct ProxySetting {
  std::string http;      // proxy URL for http:// upstreams, "" for none
  std::string https;     // proxy URL for https:// upstreams (CONNECT tunnel)
  std::string no_proxy;  // curl's CURLOPT_NOPROXY list

  const std::string& for_scheme(const std::string& scheme) const {
    return scheme == "https" ? https : http;
  }
};

using Getenv = std::function<const char*(const char*)>;

ProxySetting read_proxy_environment(const Getenv& getenv);
// The process environment's setting, read on first use.
const ProxySetting& proxy_from_environment();

// `url` without user info ("http://user:pw@proxy:3128" becomes
// "http://proxy:3128"), for logs.
std::string without_userinfo(const std::string& url);

}  // namespace pb::upstream
