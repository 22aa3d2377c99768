// The CSV reader (ingest/csv_reader.h) against an independent RFC 4180
// reader, Python's csv module in strict mode, on random inputs made of the
// characters that matter (delimiters, quotes, CR, LF, spaces, a two-byte
// character): the same records, or an error from both. One python3 run reads
// the whole batch.
//
// Where the two differ by design, the comparison adjusts: Python yields []
// for a blank line, which the reader skips (docs/upstreams.md).
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "ingest/csv_reader.h"
#include "ingest/decode.h"
#include "json/document.h"
#include "support/file_local.h"
#include "support/proxy_process.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

constexpr int kCases = 400;
constexpr int kMaxLength = 40;

const char kReference[] = R"PY(
import csv, io, json, sys
out = []
for case in json.load(open(sys.argv[1], encoding="utf-8")):
    try:
        rows = csv.reader(io.StringIO(case["text"], newline=""), delimiter=case["delimiter"],
                          quotechar=case["quote"], strict=True, doublequote=True,
                          skipinitialspace=False)
        out.append([row for row in rows if row != []])
    except csv.Error:
        out.append(None)
json.dump(out, sys.stdout)
)PY";

struct Dialect {
  char delimiter;
  char quote;
};

TEST(CsvPropertyTest, RecordsEqualPythonsStrictCsvReader) {
  std::mt19937 rng(20261206);
  const Dialect dialects[] = {{',', '"'}, {';', '\''}, {'\t', '"'}};
  const std::vector<std::string> pieces = {"a", "b",  " ",  ",",    ";",        "\t",  "\"",
                                           "'", "\r", "\n", "\r\n", "\xC3\xA9", "\"\""};
  json::Json cases = json::Json::array();
  std::vector<config::CsvOptions> options;
  for (int i = 0; i < kCases; ++i) {
    const Dialect d = dialects[rng() % 3];
    std::string text;
    const int n = static_cast<int>(rng() % kMaxLength);
    for (int k = 0; k < n; ++k) text += pieces[rng() % pieces.size()];
    config::CsvOptions o;
    o.header = false;
    o.delimiter = d.delimiter;
    o.quote = d.quote;
    options.push_back(o);
    cases.push_back({{"text", text},
                     {"delimiter", std::string(1, d.delimiter)},
                     {"quote", std::string(1, d.quote)}});
  }
  TempDir dir;
  dir.write("cases.json", json::dump(cases));
  dir.write("reference.py", kReference);
  const std::string command =
      "python3 " + dir.file("reference.py") + " " + dir.file("cases.json") + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (std::size_t got = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, got);
  ASSERT_EQ(pclose(pipe), 0) << "python3 (the reference reader) failed: " << output;
  const json::Json expected = json::parse(output);
  ASSERT_EQ(expected.size(), static_cast<std::size_t>(kCases));

  int errors = 0;
  for (int i = 0; i < kCases; ++i) {
    const std::string text = cases[i]["text"].get<std::string>();
    std::string ours;
    try {
      ours = json::dump(ingest::read_csv(text, options[i]));
    } catch (const ingest::DecodeError& e) {
      ours = std::string("error: ") + e.what();
    }
    const std::string theirs = expected[i].is_null() ? "error" : json::dump(expected[i]);
    if (expected[i].is_null()) {
      ++errors;
      EXPECT_EQ(ours.rfind("error: ", 0), 0u)
          << "case " << i << ": " << json::dump(cases[i]) << "\nours: " << ours;
    } else {
      EXPECT_EQ(ours, theirs) << "case " << i << ": " << json::dump(cases[i]);
    }
  }
  // Both kinds of outcome are exercised.
  EXPECT_GT(errors, kCases / 20);
  EXPECT_LT(errors, kCases - kCases / 20);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
