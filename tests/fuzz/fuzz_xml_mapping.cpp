// The XML mapping (src/ingest/xml_mapping.h) and the charset conversion in
// front of it (src/ingest/charset.h): upstream bodies of `parse: xml`.
//
// Input: one byte choosing the options (bit 0: namespaces keep; bit 1: an
// xml.arrays path; bits 2-3: the Content-Type charset: none, utf-8,
// iso-8859-1, utf-16), then the body.
//
// Properties:
//  - xml_to_json() throws nothing but DecodeError;
//  - a mapped document is an object with exactly one member (the root);
//    every value below is null, a string, an array or an object, arrays
//    hold no arrays, member names are non-empty, and `#text` is never an
//    object's only member;
//  - every string (names and values) is valid UTF-8 without NUL, and no
//    text value starts or ends with XML white space;
//  - the mapping is within the limits: dump() parses back with the JSON
//    parser (nesting within json::kMaxDepth) to an equal document, and its
//    strings total at most max_bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "ingest/xml_mapping.h"
#include "json/document.h"

namespace {

using pb::fuzz::printable;
using pb::json::Json;

constexpr std::size_t kMaxBytes = 1 << 16;

bool xml_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void check_string(const std::string& s, bool trimmed, const std::string& input) {
  PB_FUZZ_CHECK(pb::fuzz::is_utf8_without_nul(s), printable(s) + " from " + printable(input));
  if (trimmed && !s.empty()) {
    PB_FUZZ_CHECK(!xml_space(s.front()) && !xml_space(s.back()),
                  printable(s) + " from " + printable(input));
  }
}

// Bytes of names and strings, checked on the way.
std::size_t check_value(const Json& v, bool in_array, const std::string& input) {
  std::size_t bytes = 0;
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    check_string(s, false, input);
    return s.size();
  }
  if (v.is_null()) return 0;
  if (v.is_array()) {
    PB_FUZZ_CHECK(!in_array, "an array in an array from " + printable(input));
    for (const auto& e : v) bytes += check_value(e, true, input);
    return bytes;
  }
  PB_FUZZ_CHECK(v.is_object(), v.dump() + " from " + printable(input));
  PB_FUZZ_CHECK(!(v.size() == 1 && v.contains("#text")),
                "#text alone in " + v.dump() + " from " + printable(input));
  for (auto it = v.begin(); it != v.end(); ++it) {
    PB_FUZZ_CHECK(!it.key().empty(), "an empty name from " + printable(input));
    check_string(it.key(), false, input);
    bytes += it.key().size();
    if (it.key() == "#text") {
      PB_FUZZ_CHECK(it->is_string(), it->dump() + " from " + printable(input));
      check_string(it->get_ref<const std::string&>(), true, input);
    }
    bytes += check_value(*it, false, input);
  }
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  pb::config::XmlOptions options;
  options.keep_namespaces = (flags & 1) != 0;
  if (flags & 2) options.arrays = {"/r/a", "/r/a/b"};
  static const char* kCharsets[] = {"", "utf-8", "iso-8859-1", "utf-16"};
  const char* charset = kCharsets[(flags >> 2) & 3];
  Json doc;
  try {
    doc = pb::ingest::xml_to_json(input, charset, options, kMaxBytes);
  } catch (const pb::ingest::DecodeError&) {
    return 0;
  } catch (const std::exception& e) {
    PB_FUZZ_CHECK(false,
                  std::string("unexpected exception: ") + e.what() + " from " + printable(input));
  }
  PB_FUZZ_CHECK(doc.is_object() && doc.size() == 1, doc.dump() + " from " + printable(input));
  const std::size_t bytes = check_value(doc, false, input);
  PB_FUZZ_CHECK(bytes <= kMaxBytes, std::to_string(bytes) + " bytes from " + printable(input));
  const std::string text = pb::json::dump(doc);
  Json back;
  try {
    back = pb::json::parse(text);
  } catch (const pb::json::ParseError& e) {
    PB_FUZZ_CHECK(
        false, std::string("dump does not parse back: ") + e.what() + " from " + printable(input));
  }
  PB_FUZZ_CHECK(pb::json::equal(doc, back), text + " from " + printable(input));
  return 0;
}
