// ?format= and Accept → the representation of an SSE connection, and which
// formats each diff mode can give (docs/protocol.md "Formats").
#include "server/format_choice.h"

#include <gtest/gtest.h>
#include "support/file_local.h"

namespace pb::server {
namespace PB_FILE_LOCAL {

using stream::Format;

TEST(FormatChoiceTest, AcceptPicksTheHighestQualityFormatMediaType) {
  EXPECT_EQ(format_from_accept("text/event-stream"), Format::kNative);
  EXPECT_EQ(format_from_accept("*/*"), Format::kNative);
  EXPECT_EQ(format_from_accept(""), Format::kNative);
  EXPECT_EQ(format_from_accept("application/json-patch+json"), Format::kJsonPatch);
  EXPECT_EQ(format_from_accept("text/event-stream, application/merge-patch+json"),
            Format::kMergePatch);
  EXPECT_EQ(format_from_accept("application/json"), Format::kSnapshot);
  EXPECT_EQ(format_from_accept("Application/JSON ; charset=utf-8"), Format::kSnapshot)
      << "media types are case-insensitive; other parameters are ignored";
  // Quality values: highest wins, the first of equals wins, q=0 excludes.
  EXPECT_EQ(format_from_accept("application/json;q=0.5, application/merge-patch+json;q=0.8"),
            Format::kMergePatch);
  EXPECT_EQ(format_from_accept("application/json, application/merge-patch+json"),
            Format::kSnapshot);
  EXPECT_EQ(format_from_accept("application/json;q=0, text/event-stream"), Format::kNative);
  EXPECT_EQ(format_from_accept("application/json-patch+json; q=0.001,application/json;q=0"),
            Format::kJsonPatch);
  EXPECT_EQ(format_from_accept("application/json; Q=1.000"), Format::kSnapshot);
  // Malformed quality values exclude their entry, never the others.
  EXPECT_EQ(format_from_accept("application/json;q=2, application/merge-patch+json;q=0.1"),
            Format::kMergePatch);
  EXPECT_EQ(format_from_accept("application/json;q=0.1234"), Format::kNative);
  EXPECT_EQ(format_from_accept("application/json;q=abc"), Format::kNative);
  EXPECT_EQ(format_from_accept(",,, ;;, application/merge-patch+json"), Format::kMergePatch);
}

TEST(FormatChoiceTest, QueryParameterWinsAndMustBeKnown) {
  FormatChoice c;
  std::string why;
  const std::string accept = "application/json";
  ASSERT_TRUE(choose_format({"merge-patch"}, &accept, c, why));
  EXPECT_EQ(c.format, Format::kMergePatch);
  EXPECT_TRUE(c.demanded);
  ASSERT_TRUE(choose_format({}, &accept, c, why));
  EXPECT_EQ(c.format, Format::kSnapshot);
  EXPECT_FALSE(c.demanded);
  ASSERT_TRUE(choose_format({}, nullptr, c, why));
  EXPECT_EQ(c.format, Format::kNative);
  ASSERT_TRUE(choose_format({"json-patch", "json-patch"}, nullptr, c, why));
  EXPECT_EQ(c.format, Format::kJsonPatch);
  for (const char* bad : {"", "xml", "Snapshot", "native", "json_patch", "snapshot "}) {
    EXPECT_FALSE(choose_format({bad}, nullptr, c, why)) << bad;
    EXPECT_EQ(why, "unknown format: use format=snapshot, format=json-patch or format=merge-patch");
  }
  EXPECT_FALSE(choose_format({"snapshot", "merge-patch"}, nullptr, c, why));
  EXPECT_EQ(why, "format is given more than once, with different values");
}

TEST(FormatChoiceTest, EachModeResolvesTheFormatsItCanGive) {
  using config::DiffMode;
  using stream::resolve_format;
  EXPECT_EQ(resolve_format(DiffMode::kJsonPatch, Format::kJsonPatch), Format::kNative);
  EXPECT_EQ(resolve_format(DiffMode::kJsonPatch, Format::kMergePatch), Format::kMergePatch);
  EXPECT_EQ(resolve_format(DiffMode::kJsonPatch, Format::kSnapshot), Format::kSnapshot);
  EXPECT_EQ(resolve_format(DiffMode::kMergePatch, Format::kMergePatch), Format::kNative);
  EXPECT_EQ(resolve_format(DiffMode::kMergePatch, Format::kJsonPatch), Format::kJsonPatch);
  EXPECT_EQ(resolve_format(DiffMode::kSnapshot, Format::kSnapshot), Format::kNative);
  EXPECT_EQ(resolve_format(DiffMode::kSnapshot, Format::kJsonPatch), Format::kJsonPatch);
  EXPECT_EQ(resolve_format(DiffMode::kText, Format::kSnapshot), Format::kNative);
  EXPECT_EQ(resolve_format(DiffMode::kText, Format::kJsonPatch), std::nullopt);
  EXPECT_EQ(resolve_format(DiffMode::kText, Format::kMergePatch), std::nullopt);
  EXPECT_EQ(resolve_format(DiffMode::kItems, Format::kSnapshot), Format::kSnapshot);
  EXPECT_EQ(resolve_format(DiffMode::kItems, Format::kJsonPatch), std::nullopt);
  EXPECT_EQ(resolve_format(DiffMode::kItems, Format::kMergePatch), std::nullopt);
  for (DiffMode m : {DiffMode::kJsonPatch, DiffMode::kMergePatch, DiffMode::kSnapshot,
                     DiffMode::kText, DiffMode::kItems}) {
    EXPECT_EQ(resolve_format(m, Format::kNative), Format::kNative);
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::server
