#include "json/pretty.h"

#include <gtest/gtest.h>

#include "json/document.h"
#include "support/file_local.h"

namespace pb::json {
namespace PB_FILE_LOCAL {

TEST(JsonPrettyTest, IndentsMembersAndElements) {
  EXPECT_EQ(pretty(R"({"a":[1,{"b":null}],"c":{}})"),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}");
  EXPECT_EQ(pretty("[ ]"), "[]");
  EXPECT_EQ(pretty("\"x\""), "\"x\"");
  EXPECT_EQ(pretty("[1,2]", 4), "[\n    1,\n    2\n]");
}

TEST(JsonPrettyTest, KeepsStringsNumbersAndOrderAsTheyAre) {
  // Brackets, commas, colons, quotes and escapes inside strings are text;
  // numbers keep their source text; whitespace between tokens is replaced.
  const std::string text =
      R"({"z":"a,b:[c]{d}\"e\\","y":1.50,"x":-0e+3,  "w" : [ 18446744073709551616 ]})";
  const std::string out = pretty(text);
  EXPECT_EQ(out,
            "{\n  \"z\": \"a,b:[c]{d}\\\"e\\\\\",\n  \"y\": 1.50,\n  \"x\": -0e+3,\n"
            "  \"w\": [\n    18446744073709551616\n  ]\n}");
  // The same document, member for member.
  EXPECT_EQ(dump(parse(out)), dump(parse(text)));
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::json
