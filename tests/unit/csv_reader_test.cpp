// parse: csv (ingest/csv_reader.h): the RFC 4180 rules one at a time, the
// errors and the places they name, and the csv: section of the config.
#include "ingest/csv_reader.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "ingest/decode.h"
#include "json/document.h"
#include "support/file_local.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using ingest::DecodeError;
using ingest::read_csv;

config::CsvOptions opts(bool header = true, char delimiter = ',', char quote = '"') {
  config::CsvOptions o;
  o.header = header;
  o.delimiter = delimiter;
  o.quote = quote;
  return o;
}

std::string doc(std::string_view text, const config::CsvOptions& o = opts()) {
  return json::dump(read_csv(text, o));
}

// The DecodeError's message for `text`, or "" when it reads.
std::string error(std::string_view text, const config::CsvOptions& o = opts()) {
  try {
    read_csv(text, o);
  } catch (const DecodeError& e) {
    return e.what();
  }
  return "";
}

TEST(CsvReaderTest, AHeaderMakesObjectsInColumnOrder) {
  // ordered_json keeps members in insertion order: the columns' order, not
  // sorted ("b" before "a" stays so).
  EXPECT_EQ(doc("id,b,a\n1,x,y\n2,z,w\n"),
            R"([{"id":"1","b":"x","a":"y"},{"id":"2","b":"z","a":"w"}])");
  EXPECT_EQ(doc("id,b,a\n"), "[]");
  EXPECT_EQ(doc(""), "[]");
}

TEST(CsvReaderTest, WithoutAHeaderRowsAreArraysOfStringsAndMayDifferInLength) {
  EXPECT_EQ(doc("1,x\n2\n", opts(false)), R"([["1","x"],["2"]])");
  EXPECT_EQ(doc("", opts(false)), "[]");
}

TEST(CsvReaderTest, QuotedFieldsHoldDelimitersDoubledQuotesAndLineBreaks) {
  EXPECT_EQ(doc("a,b\n\"x,y\",\"say \"\"hi\"\"\"\n\"two\r\nlines\",\"\"\n"),
            R"([{"a":"x,y","b":"say \"hi\""},{"a":"two\r\nlines","b":""}])");
  // A quote inside an unquoted field is an ordinary character; spaces stay.
  EXPECT_EQ(doc("a,b\n 5\"x , y \n"), R"([{"a":" 5\"x ","b":" y "}])");
}

TEST(CsvReaderTest, CrlfLfAndCrEndRecordsAndBlankLinesAreSkipped) {
  EXPECT_EQ(doc("a\r\n1\r\n2\n3\r4"), R"([{"a":"1"},{"a":"2"},{"a":"3"},{"a":"4"}])");
  EXPECT_EQ(doc("a\n\n1\r\n\r\n2\n\n"), R"([{"a":"1"},{"a":"2"}])");
  // "" is a field (empty), a blank line is not a record.
  EXPECT_EQ(doc("\"\"\n\n", opts(false)), R"([[""]])");
  // A trailing delimiter is one more, empty, field.
  EXPECT_EQ(doc("a,\n", opts(false)), R"([["a",""]])");
}

TEST(CsvReaderTest, AUtf8ByteOrderMarkIsDroppedAndInvalidUtf8IsAnError) {
  EXPECT_EQ(doc("\xEF\xBB\xBFid\n1\n"), R"([{"id":"1"}])");
  EXPECT_EQ(doc("id\ncaf\xC3\xA9\n"), "[{\"id\":\"caf\xC3\xA9\"}]");
  EXPECT_EQ(error("id\n1\ncaf\xE9\n"), "CSV: invalid UTF-8 at byte 8 (line 3)");
}

TEST(CsvReaderTest, OtherDelimitersAndQuotes) {
  EXPECT_EQ(doc("a;b\n'x;y';'it''s'\n", opts(true, ';', '\'')), R"([{"a":"x;y","b":"it's"}])");
  EXPECT_EQ(doc("a\tb\n\"1\"\t2\n", opts(true, '\t')), R"([{"a":"1","b":"2"}])");
}

TEST(CsvReaderTest, AWrongFieldCountNamesTheRowAndTheLine) {
  // Rows count the header as row 1; the line is where the row begins (a
  // quoted line break before it moves it).
  EXPECT_EQ(error("a,b\n1,2\n3\n"), "CSV row 3 (line 3) has 1 field, the header has 2");
  EXPECT_EQ(error("a,b\n\"1\n1\",2\n\n3,4,5\n"),
            "CSV row 3 (line 5) has 3 fields, the header has 2");
}

TEST(CsvReaderTest, AnUnterminatedQuoteNamesWhereItBegan) {
  EXPECT_EQ(error("a,b\n1,\"open\n2,3\n"),
            "CSV row 2: the quoted field opened at line 2, column 3 is never closed");
  EXPECT_EQ(error("\xEF\xBB\xBF\"", opts(false)),
            "CSV row 1: the quoted field opened at line 1, column 1 is never closed");
}

TEST(CsvReaderTest, TextAfterAClosingQuoteIsAnError) {
  EXPECT_EQ(error("a\n\"x\"y\n"),
            "CSV row 2: 'y' after a closing quote at line 2, column 4 (expected the delimiter "
            "or a line break; a quote inside a quoted field is written twice)");
  EXPECT_NE(error("a\n\"x\" \n").find("a space after a closing quote"), std::string::npos);
}

TEST(CsvReaderTest, HeaderNamesMustBeNonEmptyAndDistinct) {
  EXPECT_EQ(error("id,,x\n1,2,3\n"),
            "CSV header (line 1): column 2 has no name (every column needs one with header: "
            "true)");
  EXPECT_EQ(error("id,x,id\n1,2,3\n"), "CSV header (line 1): columns 1 and 3 have the same name");
  // Without a header, anything goes.
  EXPECT_EQ(doc("id,,id\n", opts(false)), R"([["id","","id"]])");
}

TEST(CsvReaderTest, TheReaderGivesViewsAndTheRecordAndLine) {
  const std::string text = "a,\"b\"\"c\"\n\n\"d\ne\",f";
  ingest::CsvReader r(text, opts(false));
  std::vector<std::string_view> f;
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f, (std::vector<std::string_view>{"a", "b\"c"}));
  EXPECT_EQ(r.record(), 1u);
  EXPECT_EQ(r.line(), 1u);
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f, (std::vector<std::string_view>{"d\ne", "f"}));
  EXPECT_EQ(r.record(), 2u);
  EXPECT_EQ(r.line(), 3u);
  EXPECT_FALSE(r.next(f));
}

TEST(CsvReaderTest, DecodeDispatchesOnParseCsv) {
  config::StreamConfig s;
  s.parse = config::ParseMode::kCsv;
  s.csv = opts(true, ';');
  EXPECT_EQ(json::dump(ingest::decode(s, "k;v\n1;2\n", "text/csv; charset=utf-8")),
            R"([{"k":"1","v":"2"}])");
}

// --- the csv: section ---

std::string problems(const std::string& stream_extra) {
  try {
    config::parse_config("streams:\n  - name: s\n    url: http://127.0.0.1:9/x\n" + stream_extra,
                         "pb.yaml",
                         config::EnvLookup([](const std::string&) { return std::nullopt; }));
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(CsvConfigTest, OptionsLoadAndDefault) {
  auto load = [](const std::string& extra) {
    return config::parse_config("streams:\n  - name: s\n    url: http://127.0.0.1:9/x\n" + extra,
                                "pb.yaml",
                                config::EnvLookup([](const std::string&) { return std::nullopt; }))
        .streams.at(0);
  };
  const auto d = load("    parse: csv\n    diff: items\n    key: id\n");
  EXPECT_EQ(d.parse, config::ParseMode::kCsv);
  EXPECT_EQ(d.csv, config::CsvOptions{});
  const auto s =
      load("    parse: CSV\n    csv: { header: false, delimiter: \"\\t\", quote: \"'\" }\n");
  EXPECT_FALSE(s.csv.header);
  EXPECT_EQ(s.csv.delimiter, '\t');
  EXPECT_EQ(s.csv.quote, '\'');
}

TEST(CsvConfigTest, BadOptionsNameTheirPlace) {
  EXPECT_NE(problems("    parse: csv\n    csv: { delimiter: \";;\" }\n")
                .find("pb.yaml:5:23: streams[0].csv.delimiter: must be one character (one "
                      "byte), got \";;\""),
            std::string::npos)
      << problems("    parse: csv\n    csv: { delimiter: \";;\" }\n");
  EXPECT_NE(problems("    parse: csv\n    csv: { quote: \"\\n\" }\n")
                .find("streams[0].csv.quote: must not be a line break"),
            std::string::npos);
  EXPECT_NE(problems("    parse: csv\n    csv: { delimiter: \"'\", quote: \"'\" }\n")
                .find("streams[0].csv.delimiter: the delimiter and the quote must differ"),
            std::string::npos);
  EXPECT_NE(problems("    parse: csv\n    csv: { headers: true }\n").find("headers"),
            std::string::npos);
  EXPECT_NE(problems("    csv: { header: false }\n")
                .find("pb.yaml:4:10: streams[0].csv: applies only with parse: csv"),
            std::string::npos)
      << problems("    csv: { header: false }\n");
  EXPECT_NE(problems("    parse: tsv\n").find("\"tsv\" is not one of json, xml, csv, html"),
            std::string::npos);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
