#include "sse/encoder.h"

#include <gtest/gtest.h>

#include "sse/event_id.h"
#include "support/file_local.h"

namespace pb::sse {
namespace PB_FILE_LOCAL {

TEST(SseEncoderTest, EventHasIdTypeDataAndBlankLine) {
  EXPECT_EQ(encode_event("e-1", "patch", "[1]"), "id: e-1\nevent: patch\ndata: [1]\n\n");
}

TEST(SseEncoderTest, MessageTypeIsImplicit) {
  EXPECT_EQ(encode_event("e-1", "message", "x"), "id: e-1\ndata: x\n\n");
  EXPECT_EQ(encode_event("e-1", "", "x"), "id: e-1\ndata: x\n\n");
}

TEST(SseEncoderTest, MultiLineDataBecomesSeveralDataLines) {
  EXPECT_EQ(encode_event("1", "t", "a\nb\nc"), "id: 1\nevent: t\ndata: a\ndata: b\ndata: c\n\n");
}

TEST(SseEncoderTest, CrLfAndLoneCrAreLineBreaksToo) {
  EXPECT_EQ(encode_event("1", "t", "a\r\nb\rc"), "id: 1\nevent: t\ndata: a\ndata: b\ndata: c\n\n");
}

TEST(SseEncoderTest, TrailingAndEmptyLinesArePreserved) {
  EXPECT_EQ(encode_event("1", "t", "a\n"), "id: 1\nevent: t\ndata: a\ndata: \n\n");
  EXPECT_EQ(encode_event("1", "t", "\n\n"), "id: 1\nevent: t\ndata: \ndata: \ndata: \n\n");
  EXPECT_EQ(encode_event("1", "t", ""), "id: 1\nevent: t\ndata: \n\n");
}

TEST(SseEncoderTest, PayloadCannotInjectFields) {
  std::string out = encode_event("1", "t", "x\n\nid: 9\nevent: evil\nretry: 1");
  EXPECT_EQ(out,
            "id: 1\nevent: t\ndata: x\ndata: \ndata: id: 9\ndata: event: evil\ndata: retry: 1\n\n");
}

TEST(SseEncoderTest, IdAndTypeCannotCarryLineBreaksOrNul) {
  std::string out = encode_event(std::string("a\nb\rc\0d", 7), "ev\nid: x", "d");
  EXPECT_EQ(out, "id: abcd\nevent: evid: x\ndata: d\n\n");
}

// Found by tests/fuzz/fuzz_event_id: an id of only CR, LF or NUL bytes was
// written as an empty "id:" line, which resets the client's last event id
// (WHATWG: the id field sets it to the empty string).
TEST(SseEncoderTest, IdOfOnlyDroppedCharactersIsNoId) {
  EXPECT_EQ(encode_event(std::string("\0\0", 2), "t", "d"), "event: t\ndata: d\n\n");
  EXPECT_EQ(encode_event("\r\n", "\n", "d"), "data: d\n\n");
}

TEST(SseEncoderTest, RetryField) {
  EXPECT_EQ(encode_retry(std::chrono::milliseconds(3000)), "retry: 3000\n\n");
}

TEST(EventIdTest, ParsesOwnFormatOnly) {
  auto id = parse_event_id("0a1b2c3d-42");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->epoch, "0a1b2c3d");
  EXPECT_EQ(id->seq, 42u);
  EXPECT_EQ(id->str(), "0a1b2c3d-42");
  for (const char* bad : {"", "-1", "abc-", "abc-x", "ABC-1", "abc-01", "abc-1-2", "abc",
                          "abc-99999999999999999999"}) {
    EXPECT_FALSE(parse_event_id(bad)) << bad;
  }
}

// Found by tests/fuzz/fuzz_event_id: ids with a 20-digit sequence number
// (10^19 and up) were written by str() but refused by parse_event_id().
TEST(EventIdTest, EverySequenceNumberRoundTrips) {
  for (std::uint64_t seq : {std::uint64_t{0}, std::uint64_t{9999999999999999999u},
                            std::uint64_t{10000000000000000000u}, UINT64_MAX}) {
    const EventId id{"0a1b2c3d", seq};
    EXPECT_EQ(parse_event_id(id.str()), id) << id.str();
  }
  EXPECT_FALSE(parse_event_id("0a1b2c3d-18446744073709551616"));  // 2^64
  EXPECT_FALSE(parse_event_id("0a1b2c3d-99999999999999999999999"));
}

TEST(EventIdTest, EpochsAreRandomHex) {
  std::string a = new_epoch(), b = new_epoch();
  EXPECT_EQ(a.size(), 8u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(EventIdTest, CompositeIdsRoundTrip) {
  std::vector<std::string> parts{"a-1", "", "b-2"};
  EXPECT_EQ(join_composite(parts), "a-1,,b-2");
  EXPECT_EQ(split_composite("a-1,,b-2"), parts);
  EXPECT_EQ(split_composite("a-1").size(), 1u);
}

TEST(EventIdTest, HeaderWinsOverQueryAndBlanksMeanNone) {
  std::string h = " e-2 ", q = "e-1", blank = "  ";
  EXPECT_EQ(resume_id(&h, &q), "e-2");
  EXPECT_EQ(resume_id(nullptr, &q), "e-1");
  EXPECT_EQ(resume_id(&blank, &q), "e-1");
  EXPECT_FALSE(resume_id(nullptr, nullptr));
  EXPECT_FALSE(resume_id(&blank, nullptr));
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::sse
