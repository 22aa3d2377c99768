// The CSV reader (src/ingest/csv_reader.h): upstream bodies of parse: csv.
//
// The first input byte picks the options (header or not; the delimiter and
// quote among , ; TAB | and " '), the rest is the body.
//
// Properties:
//  - read_csv throws nothing but DecodeError, and its message starts with
//    "CSV".
//  - A document is an array of arrays of strings, or with a header of
//    objects whose members are strings, all with the header's names in its
//    order.
//  - Written back as CSV (every field quoted, quotes doubled, CRLF) and read
//    again, it is the same document: the reader's fields are exactly what
//    was between the delimiters.
//  - Its dump is valid UTF-8 without NUL, CR or LF.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <typeinfo>

#include "config/config.h"
#include "fuzz_check.h"
#include "ingest/csv_reader.h"
#include "ingest/decode.h"
#include "json/document.h"

namespace {

using pb::fuzz::printable;
using pb::json::Json;

std::string quoted(const std::string& field, char quote) {
  std::string out(1, quote);
  for (char c : field) {
    if (c == quote) out += quote;
    out += c;
  }
  return out + quote;
}

void append_row(std::string& out, const std::vector<std::string>& fields,
                const pb::config::CsvOptions& o) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += o.delimiter;
    out += quoted(fields[i], o.quote);
  }
  out += "\r\n";
}

// The document written back as CSV.
std::string written(const Json& doc, const pb::config::CsvOptions& o) {
  std::string out;
  bool header_done = false;
  for (const Json& row : doc) {
    std::vector<std::string> names, values;
    if (row.is_object()) {
      for (auto it = row.begin(); it != row.end(); ++it) {
        names.push_back(it.key());
        values.push_back(it.value().get<std::string>());
      }
      if (!header_done) append_row(out, names, o);
      header_done = true;
    } else {
      for (const Json& v : row) values.push_back(v.get<std::string>());
    }
    // A row of one empty field would be written as "" (a record), which is
    // right: only a line with nothing at all is blank.
    append_row(out, values, o);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const char kDelimiters[] = {',', ';', '\t', '|'};
  static const char kQuotes[] = {'"', '\''};
  pb::config::CsvOptions o;
  o.header = (data[0] & 1) != 0;
  o.delimiter = kDelimiters[(data[0] >> 1) & 3];
  o.quote = kQuotes[(data[0] >> 3) & 1];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  Json doc;
  try {
    doc = pb::ingest::read_csv(text, o);
  } catch (const pb::ingest::DecodeError& e) {
    PB_FUZZ_CHECK(std::string(e.what()).rfind("CSV", 0) == 0, printable(text) + ": " + e.what());
    return 0;
  } catch (const std::exception& e) {
    PB_FUZZ_CHECK(false, printable(text) + " threw " + typeid(e).name() + ": " + e.what());
  }
  const std::string detail = printable(text) + "\ndoc " + printable(pb::json::dump(doc));
  PB_FUZZ_CHECK(doc.is_array(), detail);
  const Json* first = nullptr;
  for (const Json& row : doc) {
    if (o.header) {
      PB_FUZZ_CHECK(row.is_object() && row.size() > 0, detail);
      if (first != nullptr) {
        auto a = first->begin();
        for (auto b = row.begin(); b != row.end(); ++a, ++b) {
          PB_FUZZ_CHECK(a.key() == b.key(), detail);
        }
      }
      first = &row;
    } else {
      PB_FUZZ_CHECK(row.is_array() && row.size() > 0, detail);
    }
    for (const Json& v : row) PB_FUZZ_CHECK(v.is_string(), detail);
  }
  const std::string dumped = pb::json::dump(doc);
  PB_FUZZ_CHECK(pb::fuzz::is_utf8_without_nul(dumped), detail);
  PB_FUZZ_CHECK(dumped.find_first_of("\r\n") == std::string::npos, detail);

  const std::string again_text = written(doc, o);
  Json again;
  try {
    again = pb::ingest::read_csv(again_text, o);
  } catch (const std::exception& e) {
    PB_FUZZ_CHECK(false,
                  detail + "\nwritten back " + printable(again_text) + " fails: " + e.what());
  }
  PB_FUZZ_CHECK(pb::json::dump(again) == dumped,
                detail + "\nwritten back " + printable(again_text));
  return 0;
}
