// Character sets of upstream bodies (ingest/charset.h) and how decode()
// applies them: the Content-Type's charset parameter (RFC 9110: any case,
// quoted or not), conversions to UTF-8 with their errors and offsets, the
// max_body bound after decoding, and `diff: text` with and without a
// declared charset.
#include "ingest/charset.h"

#include <gtest/gtest.h>

#include "ingest/decode.h"
#include "support/file_local.h"

namespace pb::ingest {
namespace PB_FILE_LOCAL {

std::string error_of(std::string_view body, std::string_view charset, std::size_t max = 1 << 20) {
  try {
    to_utf8(body, charset, max);
  } catch (const DecodeError& e) {
    return e.what();
  }
  return "";
}

TEST(CharsetTest, CharsetParameterIsCaseInsensitiveAndMayBeQuoted) {
  EXPECT_EQ(charset_of("text/xml; charset=ISO-8859-1"), "iso-8859-1");
  EXPECT_EQ(charset_of("text/xml;CHARSET=\"windows-1252\""), "windows-1252");
  EXPECT_EQ(charset_of("text/xml ; Charset = utf-8 "), "");  // no spaces around '='
  EXPECT_EQ(charset_of("text/xml;charset= utf-8"), "utf-8");
  EXPECT_EQ(charset_of("application/soap+xml; action=\"a;charset=x\"; charset=utf-16"), "utf-16");
  EXPECT_EQ(charset_of("text/plain; format=flowed"), "");
  EXPECT_EQ(charset_of("text/plain"), "");
  EXPECT_EQ(charset_of(""), "");
  EXPECT_EQ(media_type_of(" Text/XML ; charset=utf-8"), "text/xml");
  EXPECT_EQ(media_type_of(""), "");
}

TEST(CharsetTest, SingleByteCharsetsConvertToUtf8) {
  EXPECT_EQ(to_utf8("caf\xE9", "iso-8859-1", 100), "caf\xC3\xA9");
  EXPECT_EQ(to_utf8("\x80 caf\xE9", "windows-1252", 100), "\xE2\x82\xAC caf\xC3\xA9");
  EXPECT_EQ(to_utf8("\x80", "cp1252", 100), "\xE2\x82\xAC");
  EXPECT_EQ(to_utf8("plain", "us-ascii", 100), "plain");
}

TEST(CharsetTest, Utf16WithBomOrExplicitOrder) {
  EXPECT_EQ(to_utf8(std::string("\xFF\xFE"
                                "a\0\xE9\0",
                                6),
                    "utf-16", 100),
            "a\xC3\xA9");
  EXPECT_EQ(to_utf8(std::string("\xFE\xFF\0a\0\xE9", 6), "UTF-16", 100), "a\xC3\xA9");
  EXPECT_EQ(to_utf8(std::string("a\0\xAC\x20", 4), "utf-16le", 100), "a\xE2\x82\xAC");
  EXPECT_EQ(to_utf8(std::string("\0a\x20\xAC", 4), "utf-16be", 100), "a\xE2\x82\xAC");
}

TEST(CharsetTest, InvalidSequencesNameTheirOffset) {
  // 0x81 has no character in windows-1252.
  EXPECT_EQ(error_of("ab\x81", "windows-1252"), "invalid windows-1252 at byte 2");
  EXPECT_EQ(error_of("abc\xC3", "utf-8"), "invalid UTF-8 at byte 3");
  EXPECT_EQ(error_of("ab\xFF", ""), "invalid UTF-8 at byte 2");
  EXPECT_EQ(error_of("ok\x80", "us-ascii"), "invalid us-ascii at byte 2");
  // A lone low surrogate, then a body cut inside a character.
  EXPECT_EQ(error_of(std::string("a\0\x00\xDC", 4), "utf-16le"), "invalid utf-16le at byte 2");
  EXPECT_EQ(error_of(std::string("a\0b", 3), "utf-16le"),
            "invalid utf-16le at byte 2: the body ends inside a character");
}

TEST(CharsetTest, UnknownCharsetsAreNamedAndIconvSuffixesRefused) {
  EXPECT_EQ(error_of("x", "klingon-8"), "unknown charset \"klingon-8\"");
  // glibc would read //IGNORE as "drop what is invalid".
  EXPECT_EQ(error_of("x\xFF", "utf-16//ignore"), "unknown charset \"utf-16??ignore\"");
}

TEST(CharsetTest, MaxBodyHoldsAfterDecoding) {
  // 8 bytes of UTF-16 are 4 characters of 3 bytes each in UTF-8: 12 bytes.
  const std::string euros("\xAC\x20\xAC\x20\xAC\x20\xAC\x20", 8);
  EXPECT_EQ(to_utf8(euros, "utf-16le", 12).size(), 12u);
  EXPECT_EQ(error_of(euros, "utf-16le", 11),
            "body larger than max_body (11 bytes) once decoded to UTF-8");
  // Large enough to need the output buffer to grow several times.
  const std::string big(100000, '\xE9');
  EXPECT_EQ(to_utf8(big, "iso-8859-1", 200000).size(), 200000u);
  EXPECT_EQ(error_of(big, "iso-8859-1", 199999),
            "body larger than max_body (199999 bytes) once decoded to UTF-8");
}

config::StreamConfig stream(config::DiffMode diff) {
  config::StreamConfig cfg;
  cfg.diff = diff;
  return cfg;
}

TEST(CharsetTest, JsonHonoursTheDeclaredCharset) {
  const auto cfg = stream(config::DiffMode::kJsonPatch);
  EXPECT_EQ(decode(cfg, "{\"n\":\"caf\xE9\"}", "application/json; charset=iso-8859-1"),
            json::Json({{"n", "caf\xC3\xA9"}}));
  EXPECT_EQ(
      decode(cfg, std::string("[\0\"\0\xE9\0\"\0]\0", 10), "application/json;charset=utf-16le"),
      json::parse("[\"\xC3\xA9\"]"));
  EXPECT_EQ(decode(cfg, "[1]", "application/json; charset=utf-8"), json::parse("[1]"));
  try {
    decode(cfg, "[\"\x81\"]", "application/json; charset=windows-1252");
    FAIL();
  } catch (const DecodeError& e) {
    EXPECT_STREQ(e.what(), "invalid windows-1252 at byte 2");
  }
  // Without a charset UTF-8 is the JSON parser's to check, at its offset
  // (one past the bad byte, as for every JSON error).
  try {
    decode(cfg, "[\"\xE9\"]", "application/json");
    FAIL();
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("(at byte 4)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ill-formed UTF-8"), std::string::npos) << e.what();
  }
}

TEST(CharsetTest, TextReplacesWithoutACharsetAndIsStrictWithOne) {
  const auto cfg = stream(config::DiffMode::kText);
  EXPECT_EQ(decode(cfg, "caf\xE9", ""), json::Json("caf\xEF\xBF\xBD"));
  EXPECT_EQ(decode(cfg, "caf\xE9", "text/plain; charset=iso-8859-1"), json::Json("caf\xC3\xA9"));
  EXPECT_THROW(decode(cfg, "caf\xE9", "text/plain; charset=utf-8"), DecodeError);
  EXPECT_THROW(decode(cfg, "x", "text/plain; charset=nope"), DecodeError);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::ingest
