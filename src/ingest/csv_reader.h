// CSV (RFC 4180) bodies for `parse: csv`: a reader of records, and the
// document they make (an array of objects named by the header row, or of
// arrays of strings).
//
// The rules, where RFC 4180 is silent or stricter (docs/upstreams.md):
// - the input is UTF-8 (ingest/decode.cpp converts other charsets first):
//   read_csv refuses an invalid sequence (its byte offset and line); a
//   UTF-8 byte order mark at the start is dropped;
// - a record ends at CRLF, LF or a lone CR; a line with no characters at
//   all is skipped (a blank line is not a record of one empty field; `""`
//   is);
// - a field that starts with the quote is quoted: it may hold delimiters,
//   line breaks and doubled quotes, and its closing quote must be followed by
//   the delimiter, a line break or the end; a quote inside an unquoted field
//   is an ordinary character; spaces are kept as they are;
// - with a header, every record has as many fields as the header, whose
//   names must be non-empty and distinct; without one, records may differ in
//   length.
// Every error is a DecodeError naming the row and the line (and column)
// where the problem is.
//
// Debian has CSV parsers (libcsv3), but none reports the row and line of an
// error or keeps the fields as views of the body; this is one pass over the
// bytes, linear in them, with no allocation per field that was not quoted.
//
// Threads: pure; a CsvReader belongs to the thread that made it (the thread
// processing a poll).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "json/document.h"

namespace pb::ingest {

class CsvReader {
 public:
  // `text` must outlive the reader.
  CsvReader(std::string_view text, const config::CsvOptions& options);

  // Reads the next record into `fields` (views into the text or into the
  // reader, valid until the next call). False at the end of the text.
  // Throws DecodeError.
  bool next(std::vector<std::string_view>& fields);

  // The record last read: its number (1 for the first record, the header
  // included) and the line it began on.
  std::size_t record() const { return record_; }
  std::size_t line() const { return record_line_; }

 private:
  struct Span {
    bool unescaped;  // in unescaped_, else in the text
    std::size_t begin;
    std::size_t size;
  };
  std::size_t read_quoted(std::size_t field_col);
  static std::string at(std::size_t line, std::size_t column);

  std::string_view text_;
  char delimiter_;
  char quote_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;        // line of pos_
  std::size_t line_start_ = 0;  // offset where line_ begins
  std::size_t record_ = 0;
  std::size_t record_line_ = 0;
  std::vector<Span> spans_;
  std::string unescaped_;  // fields with doubled quotes, without them
};

// The document of a CSV body: with options.header, an array of objects
// (one string member per column, in column order); without, an array of
// arrays of strings. Throws DecodeError.
json::Json read_csv(std::string_view text, const config::CsvOptions& options);

}  // namespace pb::ingest
