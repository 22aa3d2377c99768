#include "log/log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "json/document.h"
#include "support/file_local.h"

namespace pb::log {
namespace PB_FILE_LOCAL {

TEST(LogFormatTest, TextLineHasTimestampLevelMessageAndFields) {
  std::string line = format_line(Format::kText, Level::kWarn, "2026-12-01T00:00:00.000Z",
                                 "stream went stale", {{"stream", "orders"}, {"status", 503}});
  EXPECT_EQ(line, "2026-12-01T00:00:00.000Z WARN stream went stale stream=orders status=503");
}

TEST(LogFormatTest, TextQuotesValuesWithSpacesAndEscapesControlCharacters) {
  std::string line = format_line(Format::kText, Level::kInfo, "T", "m",
                                 {{"reason", "cannot connect"}, {"evil", "a\nb=c"}});
  EXPECT_EQ(line, "T INFO m reason=\"cannot connect\" evil=\"a\\nb=c\"");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(LogFormatTest, JsonLineIsOneValidObjectWithTypedFields) {
  std::string line = format_line(Format::kJson, Level::kError, "2026-12-01T00:00:00.000Z", "x",
                                 {{"stream", "a\"b"},
                                  {"status", 0},
                                  {"duration_ms", 12.5},
                                  {"ok", true},
                                  {"bytes", "\xff\xfe\x01"}});
  json::Json j = json::parse(line);
  EXPECT_EQ(j["ts"], "2026-12-01T00:00:00.000Z");
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["msg"], "x");
  EXPECT_EQ(j["stream"], "a\"b");
  EXPECT_EQ(j["status"], 0);
  EXPECT_EQ(json::dump(j["duration_ms"]), "12.5");
  EXPECT_EQ(j["ok"], true);
  // Invalid UTF-8 becomes U+FFFD, control characters are escaped.
  EXPECT_EQ(j["bytes"], "\xEF\xBF\xBD\xEF\xBF\xBD\x01");
  EXPECT_EQ(line.find('\x01'), std::string::npos);
}

TEST(LogLevelTest, LinesBelowTheLevelAreNotWritten) {
  std::vector<std::string> lines;
  set_sink([&](std::string_view l) { lines.emplace_back(l); });
  configure(Format::kText, Level::kWarn);
  info("hidden");
  warn("shown");
  configure(Format::kText, Level::kInfo);
  set_sink({});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("WARN shown"), std::string::npos);
}

TEST(LogLevelTest, ParsesNamesAndRefusesOthers) {
  Level l;
  Format f;
  EXPECT_TRUE(parse_level("debug", l));
  EXPECT_EQ(l, Level::kDebug);
  EXPECT_FALSE(parse_level("verbose", l));
  EXPECT_TRUE(parse_format("json", f));
  EXPECT_EQ(f, Format::kJson);
  EXPECT_FALSE(parse_format("xml", f));
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::log
