// A stream's csv: and html: sections (parse: csv, parse: html; the readers
// are ingest/csv_reader.h and ingest/html_extract.h).
#include <set>

#include "config/keys.h"
#include "config/loader_impl.h"
#include "config/xpath_check.h"

namespace pb::config {
namespace {

std::string describe_byte(char c) {
  if (c == '\r') return "CR";
  if (c == '\n') return "LF";
  return "\"" + std::string(1, c) + "\"";
}

}  // namespace

void Loader::read_csv_html(const Fields& fields, StreamConfig& s) {
  const Field* parse_field = fields.find("parse");
  if (const Field* csv = fields.find("csv")) {
    if (s.parse != ParseMode::kCsv) {
      problem(*csv, "applies only with parse: csv");
    } else if (auto section = read_section(*csv, &child_keys("streams[].csv"))) {
      if (const Field* x = section->find("header")) read_bool(*x, s.csv.header);
      bool delimiter_ok = false, quote_ok = false;
      auto read_byte = [&](const char* key, char& out, bool& ok) {
        const Field* x = section->find(key);
        if (x == nullptr) return;
        std::string text;
        if (!read_string(*x, text)) return;
        if (text.size() != 1) {
          problem(*x, "must be one character (one byte), got " + quote(text));
        } else if (text[0] == '\r' || text[0] == '\n') {
          problem(*x, "must not be a line break (CR or LF)");
        } else {
          out = text[0];
          ok = true;
        }
      };
      read_byte("delimiter", s.csv.delimiter, delimiter_ok);
      read_byte("quote", s.csv.quote, quote_ok);
      if (s.csv.delimiter == s.csv.quote) {
        const Field* x = section->find(delimiter_ok ? "delimiter" : "quote");
        problem(x != nullptr ? *x : *csv, "the delimiter and the quote must differ (both are " +
                                              describe_byte(s.csv.delimiter) + ")");
      }
    }
  }
  const Field* html = fields.find("html");
  if (html != nullptr && s.parse != ParseMode::kHtml) {
    problem(*html, "applies only with parse: html");
    return;
  }
  if (s.parse != ParseMode::kHtml) return;
  if (html == nullptr) {
    problem(*parse_field,
            "html needs an html: section with rows, the XPath of the rows to publish, like "
            "html: { rows: \"//table[@id='orders']//tr[td]\" }");
    return;
  }
  auto section = read_section(*html, &child_keys("streams[].html"));
  if (!section) return;
  if (const Field* x = section->find("rows")) {
    std::string rows;
    if (read_string(*x, rows)) {
      if (auto why = xpath_problem(rows, true)) {
        problem(*x, quote(rows) + " " + *why);
      } else {
        s.html.rows = std::move(rows);
      }
    }
  } else {
    problem(*html, "missing required key \"rows\" (the XPath of the rows to publish)");
  }
  if (const Field* x = section->find("fields")) {
    if (auto list = read_section(*x, nullptr)) {
      std::set<std::string> names;
      for (const Field& f : list->list) {
        const std::string& name = f.key.Scalar();
        if (name.empty()) {
          problem(f.key_pos(), x->name + ": a field needs a name");
          continue;
        }
        if (!names.insert(name).second) {
          problem(f.key_pos(), x->name + ": field " + quote(name) + " is named twice");
          continue;
        }
        std::string expr;
        if (!read_string(f, expr)) continue;
        if (auto why = xpath_problem(expr, false)) {
          problem(f, quote(expr) + " " + *why);
          continue;
        }
        s.html.fields.emplace_back(name, std::move(expr));
      }
    }
  }
}

}  // namespace pb::config
