// UTF-8 validation (common/utf8.h) and what a text body becomes
// (ingest::sanitize_utf8): every kind of invalid sequence RFC 3629 names
// is replaced by U+FFFD, one per bad byte, and valid text is kept as is.
#include "common/utf8.h"

#include <gtest/gtest.h>

#include "ingest/decode.h"
#include "support/file_local.h"

namespace pb {
namespace PB_FILE_LOCAL {

TEST(Utf8Test, SequenceLengthsOfValidAndInvalidBytes) {
  EXPECT_EQ(utf8_sequence_length("a", 0), 1u);
  EXPECT_EQ(utf8_sequence_length("\xC3\xA9", 0), 2u);          // é
  EXPECT_EQ(utf8_sequence_length("\xE2\x82\xAC", 0), 3u);      // €
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x98\x80", 0), 4u);  // U+1F600
  EXPECT_EQ(utf8_sequence_length("\xC0\xAF", 0), 0u);          // overlong '/'
  EXPECT_EQ(utf8_sequence_length("\xE0\x80\xAF", 0), 0u);      // overlong, 3 bytes
  EXPECT_EQ(utf8_sequence_length("\xED\xA0\x80", 0), 0u);      // surrogate U+D800
  EXPECT_EQ(utf8_sequence_length("\xF4\x90\x80\x80", 0), 0u);  // past U+10FFFF
  EXPECT_EQ(utf8_sequence_length("\xE2\x82", 0), 0u);          // cut short
  EXPECT_EQ(utf8_sequence_length("\xE2\x41\xAC", 0), 0u);      // not a continuation
  EXPECT_EQ(utf8_sequence_length("\x80", 0), 0u);              // a lone continuation
  EXPECT_EQ(utf8_sequence_length("\xFF", 0), 0u);
}

TEST(Utf8Test, SanitizeReplacesEachBadByteAndKeepsTheRest) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(ingest::sanitize_utf8("caf\xC3\xA9 \xE2\x82\xAC"), "caf\xC3\xA9 \xE2\x82\xAC");
  EXPECT_EQ(ingest::sanitize_utf8("a\xC0\xAF"
                                  "b"),
            "a" + fffd + fffd + "b");
  EXPECT_EQ(ingest::sanitize_utf8("\xED\xA0\x80"), fffd + fffd + fffd);
  EXPECT_EQ(ingest::sanitize_utf8("end\xE2\x82"), "end" + fffd + fffd);
  EXPECT_EQ(ingest::sanitize_utf8(std::string("nul\0ok", 6)), std::string("nul\0ok", 6));
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb
