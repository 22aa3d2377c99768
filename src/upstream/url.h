// Upstream URLs: the parts the fetcher needs (parsed and validated by
// config::parse_url; the origin names a host's connection slots), and the
// percent-encoding of stream parameters substituted into a URL template.
//
// Pure; callable from any thread.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace pb::upstream {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  int port = 0;        // explicit or the scheme's default
  std::string target;  // path and query, at least "/"

  // "scheme://host:port" (IPv6 in brackets): the start of the URL libcurl is
  // given, and the key of the host's connection slots.
  std::string origin() const;
};

// RFC 3986 percent-encoding of everything but unreserved characters, so a
// parameter value can never change the URL's structure.
std::string percent_encode(const std::string& value);

// Replaces every {name} in `tmpl` by the percent-encoded value of `name`.
std::string expand_template(const std::string& tmpl,
                            const std::map<std::string, std::string>& values);

}  // namespace pb::upstream
