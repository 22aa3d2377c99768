#include "upstream/url_reference.h"

#include <curl/curl.h>

#include <cctype>
#include <memory>

namespace pb::upstream {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

std::optional<std::string> get_part(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* out = nullptr;
  if (curl_url_get(u, part, &out, flags) != CURLUE_OK || out == nullptr) return std::nullopt;
  std::string s(out);
  curl_free(out);
  return s;
}

}  // namespace

std::optional<std::string> resolve_reference(const std::string& base,
                                             const std::string& reference) {
  UrlHandle u(curl_url());
  if (!u) return std::nullopt;
  if (curl_url_set(u.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK) return std::nullopt;
  // With a base set, a relative reference is resolved against it (RFC 3986
  // section 5); an absolute one replaces it.
  if (curl_url_set(u.get(), CURLUPART_URL, reference.c_str(), CURLU_NON_SUPPORT_SCHEME) !=
      CURLUE_OK) {
    return std::nullopt;
  }
  auto scheme = get_part(u.get(), CURLUPART_SCHEME);
  if (!scheme || (*scheme != "http" && *scheme != "https")) return std::nullopt;
  // A fragment is never sent.
  curl_url_set(u.get(), CURLUPART_FRAGMENT, nullptr, 0);
  return get_part(u.get(), CURLUPART_URL);
}

std::optional<std::string> with_query_param(const std::string& url, const std::string& name,
                                            const std::string& value) {
  UrlHandle u(curl_url());
  if (!u) return std::nullopt;
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
  const std::string pair = name + "=" + value;
  if (curl_url_set(u.get(), CURLUPART_QUERY, pair.c_str(), CURLU_APPENDQUERY | CURLU_URLENCODE) !=
      CURLUE_OK) {
    return std::nullopt;
  }
  return get_part(u.get(), CURLUPART_URL);
}

std::string origin_of(const std::string& url) {
  UrlHandle u(curl_url());
  if (!u ||
      curl_url_set(u.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    return "";
  }
  auto scheme = get_part(u.get(), CURLUPART_SCHEME);
  auto host = get_part(u.get(), CURLUPART_HOST);
  auto port = get_part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!scheme || !host || !port) return "";
  std::string h = *host;
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return *scheme + "://" + h + ":" + *port;
}

std::string normalized(const std::string& url) {
  UrlHandle u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return url;
  return get_part(u.get(), CURLUPART_URL, CURLU_NO_DEFAULT_PORT).value_or(url);
}

std::string path_of(const std::string& url) {
  UrlHandle u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return "";
  return get_part(u.get(), CURLUPART_PATH).value_or("");
}

}  // namespace pb::upstream
