#include "config/body_template.h"

#include <cctype>

namespace pb::config {

BodyEscaping body_escaping(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  std::string media;
  for (char c : t) {
    if (c != ' ' && c != '\t')
      media += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  auto ends_with = [&](const char* suffix) {
    const std::string s(suffix);
    return media.size() >= s.size() && media.compare(media.size() - s.size(), s.size(), s) == 0;
  };
  if (media == "application/json" || ends_with("+json")) return BodyEscaping::kJson;
  if (media == "text/xml" || media == "application/xml" || ends_with("+xml")) {
    return BodyEscaping::kXml;
  }
  if (media == "application/x-www-form-urlencoded") return BodyEscaping::kForm;
  return BodyEscaping::kNone;
}

std::vector<std::string> body_placeholders(const std::string& body,
                                           const std::set<std::string>& declared) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while ((i = body.find('{', i)) != std::string::npos) {
    const std::size_t close = body.find('}', i + 1);
    if (close == std::string::npos) break;
    const std::string name = body.substr(i + 1, close - i - 1);
    if (declared.count(name)) {
      out.push_back(name);
      i = close + 1;
    } else {
      ++i;
    }
  }
  return out;
}

}  // namespace pb::config
