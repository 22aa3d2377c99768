#include "upstream/body_template.h"

#include <set>

#include "config/body_template.h"
#include "upstream/url.h"

namespace pb::upstream {

std::string json_string_escape(const std::string& value) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f) {
          // Also <, > and &: the value stays inert if the JSON is embedded
          // in HTML or XML upstream.
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string xml_escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string expand_body(const std::string& body, const std::string& content_type,
                        const std::map<std::string, std::string>& values) {
  if (values.empty()) return body;
  const config::BodyEscaping escaping = config::body_escaping(content_type);
  std::set<std::string> names;
  for (const auto& [k, v] : values) names.insert(k);
  if (config::body_placeholders(body, names).empty()) return body;
  std::string out;
  std::size_t i = 0;
  while (i < body.size()) {
    if (body[i] == '{') {
      const std::size_t close = body.find('}', i + 1);
      if (close != std::string::npos) {
        auto it = values.find(body.substr(i + 1, close - i - 1));
        if (it != values.end()) {
          switch (escaping) {
            case config::BodyEscaping::kJson:
              out += json_string_escape(it->second);
              break;
            case config::BodyEscaping::kXml:
              out += xml_escape(it->second);
              break;
            case config::BodyEscaping::kForm:
              out += percent_encode(it->second);
              break;
            case config::BodyEscaping::kNone:
              // Refused at load; never sent unescaped.
              return body;
          }
          i = close + 1;
          continue;
        }
      }
    }
    out += body[i++];
  }
  return out;
}

}  // namespace pb::upstream
