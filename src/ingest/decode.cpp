#include "ingest/decode.h"

#include "common/utf8.h"

namespace pb::ingest {

json::Json decode(const config::StreamConfig& cfg, const std::string& body,
                  const std::string& /*content_type*/) {
  if (cfg.diff == config::DiffMode::kText) return json::Json(sanitize_utf8(body));
  switch (cfg.parse) {
    case config::ParseMode::kJson:
      break;
    case config::ParseMode::kXml:
    case config::ParseMode::kCsv:
    case config::ParseMode::kHtml:
      throw DecodeError("this parse mode is not built yet");
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
