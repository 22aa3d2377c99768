#include "ingest/decode.h"

#include "common/ascii.h"
#include "common/utf8.h"
#include "ingest/csv_reader.h"
#include "ingest/html_extract.h"

namespace pb::ingest {
namespace {

// The charset parameter of a Content-Type ("" if none), unquoted.
// charset: the xml branch's charset module parses this too; at the merge,
// one of the two goes.
std::string content_type_charset(const std::string& content_type) {
  std::string lower;
  for (char c : content_type) lower += ascii_lower(c);
  std::size_t at = 0;
  while ((at = lower.find("charset", at)) != std::string::npos) {
    const bool starts =
        at == 0 || lower[at - 1] == ';' || lower[at - 1] == ' ' || lower[at - 1] == '\t';
    std::size_t i = at + 7;
    while (i < lower.size() && (lower[i] == ' ' || lower[i] == '\t')) ++i;
    if (!starts || i >= lower.size() || lower[i] != '=') {
      at += 7;
      continue;
    }
    ++i;
    while (i < lower.size() && (lower[i] == ' ' || lower[i] == '\t')) ++i;
    std::string value;
    if (i < lower.size() && lower[i] == '"') {
      const std::size_t close = lower.find('"', i + 1);
      value = content_type.substr(i + 1, close == std::string::npos ? close : close - i - 1);
    } else {
      const std::size_t end = lower.find_first_of("; \t", i);
      value = content_type.substr(i, end == std::string::npos ? end : end - i);
    }
    return value;
  }
  return "";
}

}  // namespace

json::Json decode(const config::StreamConfig& cfg, const std::string& body,
                  const std::string& content_type) {
  if (cfg.diff == config::DiffMode::kText) return json::Json(sanitize_utf8(body));
  switch (cfg.parse) {
    case config::ParseMode::kJson:
      break;
    case config::ParseMode::kXml:
      throw DecodeError("this parse mode is not built yet");
    case config::ParseMode::kCsv:
      // charset: the body converted to UTF-8 from the Content-Type's charset
      // (the xml branch's charset module) goes here, before the reader; the
      // reader takes UTF-8 and leaves invalid sequences to that check.
      return read_csv(body, cfg.csv);
    case config::ParseMode::kHtml:
      // charset: libxml2 converts HTML itself (the Content-Type's charset
      // when there is one, else the page's <meta charset>); do not convert
      // before it.
      return extract_html(body, cfg.html, content_type_charset(content_type));
  }
  try {
    return json::parse(body);
  } catch (const json::ParseError& e) {
    throw DecodeError("upstream body is not JSON (at byte " + std::to_string(e.offset()) +
                      "): " + e.what());
  }
}

std::string sanitize_utf8(const std::string& in) {
  static const char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    if (const std::size_t len = utf8_sequence_length(in, i)) {
      out.append(in, i, len);
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

}  // namespace pb::ingest
