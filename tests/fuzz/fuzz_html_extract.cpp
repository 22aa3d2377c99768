// The HTML extraction (src/ingest/html_extract.h): upstream pages of
// parse: html, read by libxml2's HTML parser, rows and fields by XPath.
//
// The input is the page; the options are fixed: rows //tr | //li, fields
// td[1], @class, a/@href and count(td).
//
// Properties:
//  - extract_html throws nothing but DecodeError, whose message starts with
//    "HTML".
//  - The document is an array of objects with exactly the fields, in the
//    config's order; each value is null or a string.
//  - Every string is normalized: no space at either end, no run of two, no
//    tab, CR or LF; the dump is valid UTF-8 without NUL.
//  - normalize_space is idempotent on every string it gives.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <typeinfo>

#include "config/config.h"
#include "fuzz_check.h"
#include "ingest/decode.h"
#include "ingest/html_extract.h"
#include "json/document.h"

namespace {

using pb::fuzz::printable;
using pb::json::Json;

bool normalized(const std::string& s) {
  if (s.empty()) return true;
  if (s.front() == ' ' || s.back() == ' ') return false;
  if (s.find("  ") != std::string::npos) return false;
  return s.find_first_of("\t\r\n") == std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pb::config::HtmlOptions o;
  o.rows = "//tr | //li";
  o.fields = {{"first", "td[1]"}, {"class", "@class"}, {"link", "a/@href"}, {"cells", "count(td)"}};
  const std::string page(reinterpret_cast<const char*>(data), size);
  Json doc;
  try {
    doc = pb::ingest::extract_html(page, o, "");
  } catch (const pb::ingest::DecodeError& e) {
    PB_FUZZ_CHECK(std::string(e.what()).rfind("HTML", 0) == 0, printable(page) + ": " + e.what());
    return 0;
  } catch (const std::exception& e) {
    PB_FUZZ_CHECK(false, printable(page) + " threw " + typeid(e).name() + ": " + e.what());
  }
  const std::string dumped = pb::json::dump(doc);
  const std::string detail = printable(page) + "\ndoc " + printable(dumped);
  PB_FUZZ_CHECK(doc.is_array(), detail);
  PB_FUZZ_CHECK(pb::fuzz::is_utf8_without_nul(dumped), detail);
  for (const Json& row : doc) {
    PB_FUZZ_CHECK(row.is_object() && row.size() == o.fields.size(), detail);
    std::size_t i = 0;
    for (auto it = row.begin(); it != row.end(); ++it, ++i) {
      PB_FUZZ_CHECK(it.key() == o.fields[i].first, detail);
      const Json& v = it.value();
      PB_FUZZ_CHECK(v.is_null() || v.is_string(), detail);
      if (v.is_string()) {
        const std::string s = v.get<std::string>();
        PB_FUZZ_CHECK(normalized(s), detail + "\nvalue " + printable(s));
        PB_FUZZ_CHECK(pb::ingest::normalize_space(s) == s, detail + "\nvalue " + printable(s));
      }
    }
    PB_FUZZ_CHECK(row["cells"].is_string(), detail);  // count() always gives a number
  }
  return 0;
}
