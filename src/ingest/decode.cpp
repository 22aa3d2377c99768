#include "ingest/decode.h"

#include "ingest/csv_reader.h"
#include "ingest/html_extract.h"
#include "ingest/soap_fault.h"
#include "ingest/xml_mapping.h"

namespace pb::ingest {
namespace {

json::Json decode_json(const config::StreamConfig& cfg, const std::string& body,
                       const std::string& charset) {
  try {
    // UTF-8 (declared or not) is validated by the JSON parser itself, which
    // names the offset of an invalid sequence.
    if (charset.empty() || is_utf8_name(charset)) return json::parse(body);
    return json::parse(to_utf8(body, charset, cfg.max_body));
  } catch (const json::ParseError& e) {
    throw DecodeError("upstream body is not JSON (at byte " + std::to_string(e.offset()) +
                      "): " + e.what());
  }
}

}  // namespace

json::Json decode(const config::StreamConfig& cfg, const std::string& body,
                  const std::string& content_type) {
  const std::string charset = charset_of(content_type);
  if (cfg.diff == config::DiffMode::kText) {
    if (charset.empty()) return json::Json(sanitize_utf8(body));
    return json::Json(to_utf8(body, charset, cfg.max_body));
  }
  switch (cfg.parse) {
    case config::ParseMode::kJson:
      break;
    case config::ParseMode::kXml: {
      json::Json doc = xml_to_json(body, charset, cfg.xml, cfg.max_body);
      if (auto fault = soap_fault(doc)) throw DecodeError(*fault);
      return doc;
    }
    case config::ParseMode::kCsv:
      // The reader takes UTF-8: the Content-Type's charset converted first
      // (UTF-8, declared or not, checked), so no field holds an invalid
      // sequence.
      return read_csv(to_utf8(body, charset, cfg.max_body), cfg.csv);
    case config::ParseMode::kHtml:
      // libxml2 converts HTML itself: the Content-Type's charset when there
      // is one, else the page's <meta charset>; not converted before it.
      return extract_html(body, cfg.html, charset);
  }
  return decode_json(cfg, body, charset);
}

std::string explain_error_body(const config::StreamConfig& cfg, const std::string& body,
                               const std::string& content_type) {
  if (cfg.parse != config::ParseMode::kXml || body.empty()) return {};
  try {
    const json::Json doc = xml_to_json(body, charset_of(content_type), cfg.xml, cfg.max_body);
    if (auto fault = soap_fault(doc)) return *fault;
  } catch (const DecodeError&) {
    // Not XML, or not readable: the status alone says it.
  }
  return {};
}

}  // namespace pb::ingest
