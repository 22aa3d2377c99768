#include "json/document.h"

#include <gtest/gtest.h>

#include "json/pointer.h"
#include "support/file_local.h"

namespace pb::json {
namespace PB_FILE_LOCAL {

TEST(JsonDocumentTest, NumbersKeepTheirText) {
  const std::string text =
      R"({"a":1.10,"b":1e3,"c":18446744073709551616,"d":-0.0,"e":123456789012345678901234567890.5,"f":-42,"g":18446744073709551615,"h":1E+2})";
  EXPECT_EQ(dump(parse(text)), text);
}

TEST(JsonDocumentTest, NegativeZeroKeepsItsSign) {
  const std::string text = R"({"a":-0,"s":"x-0\"-0","b":[0,-0,-0.0,-0e1,10,-0],"c":-01.5e-0})";
  // (-01.5 is invalid JSON; use a valid last member instead.)
  const std::string valid = R"({"a":-0,"s":"x-0\"-0","b":[0,-0,-0.0,-0e1,10,-0],"c":-1.5e-0})";
  EXPECT_THROW(parse(text), ParseError);
  EXPECT_EQ(dump(parse(valid)), valid);
  EXPECT_TRUE(equal(parse("-0"), parse("0")));
  EXPECT_EQ(dump(parse(" -0 ")), "-0");
}

TEST(JsonDocumentTest, KeyOrderIsKept) {
  const std::string text = R"({"z":1,"a":{"y":2,"b":3},"m":[3,1,2]})";
  EXPECT_EQ(dump(parse(text)), text);
}

TEST(JsonDocumentTest, WhitespaceIsDropped) {
  EXPECT_EQ(dump(parse(" { \"a\" : [ 1 , 2 ] }\n")), R"({"a":[1,2]})");
}

TEST(JsonDocumentTest, EqualityIgnoresOrderAndNumberSpelling) {
  EXPECT_TRUE(equal(parse(R"({"a":1,"b":2})"), parse(R"({"b":2,"a":1})")));
  EXPECT_TRUE(equal(parse("1.10"), parse("1.1")));
  EXPECT_TRUE(equal(parse("1e3"), parse("1000")));
  EXPECT_TRUE(equal(parse("100"), parse("1E2")));
  EXPECT_TRUE(equal(parse("0.0"), parse("-0")));
  EXPECT_FALSE(equal(parse("1.1"), parse("1.11")));
  EXPECT_FALSE(equal(parse("18446744073709551616"), parse("18446744073709551617")));
  EXPECT_FALSE(equal(parse("[1,2]"), parse("[2,1]")));
  EXPECT_FALSE(equal(parse(R"({"a":1})"), parse(R"({"a":1,"b":null})")));
  EXPECT_FALSE(equal(parse(R"("1")"), parse("1")));
}

TEST(JsonDocumentTest, StringsAreEscapedWithoutLineBreaks) {
  Json v = parse(R"({"s":"a\nb\rc\u0000d\"e\\f\u2028 é"})");
  std::string out = dump(v);
  EXPECT_EQ(out.find('\n'), std::string::npos);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.find('\0'), std::string::npos);
  EXPECT_TRUE(equal(parse(out), v));
}

TEST(JsonDocumentTest, InvalidTextIsAnErrorWithOffset) {
  EXPECT_THROW(parse("{\"a\":}"), ParseError);
  EXPECT_THROW(parse("[1,2] x"), ParseError);
  EXPECT_THROW(parse("\"\xff\""), ParseError);
  try {
    parse("[1,,2]");
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(e.offset(), 4u);
  }
}

// Found by tests/fuzz/fuzz_json_document: nlohmann's lexer stops at a NUL
// byte as if the text ended there, so a body like "{}\0<html>..." was read
// as {} instead of being refused.
TEST(JsonDocumentTest, NulByteIsAnErrorWhereverItIs) {
  for (const std::string& text : {std::string("123\0", 4), std::string("{\"a\":1}\0{\"b\":2}", 16),
                                  std::string("[1]\0\0\0", 6), std::string("\"a\0b\"", 5)}) {
    try {
      parse(text);
      ADD_FAILURE() << "accepted a NUL byte at " << text.find('\0');
    } catch (const ParseError& e) {
      EXPECT_EQ(e.offset(), text.find('\0') + 1);  // 1-based, like the parser's offsets
    }
  }
}

TEST(JsonDocumentTest, DeepNestingIsRefused) {
  std::string deep(kMaxDepth + 1, '[');
  deep += std::string(kMaxDepth + 1, ']');
  EXPECT_THROW(parse(deep), ParseError);
  std::string ok(kMaxDepth, '[');
  ok += std::string(kMaxDepth, ']');
  EXPECT_NO_THROW(parse(ok));
}

TEST(JsonPointerTest, EscapesFollowRfc6901) {
  Json doc = parse(R"({"a/b":{"m~n":[10,20]},"":1})");
  EXPECT_EQ(dump(*Pointer::parse("/a~1b/m~0n/1").find(doc)), "20");
  EXPECT_EQ(dump(*Pointer::parse("/").find(doc)), "1");
  EXPECT_EQ(Pointer::parse("/a~1b/m~0n").str(), "/a~1b/m~0n");
  EXPECT_EQ(Pointer::parse("/a~1b/m~0n/01").find(doc), nullptr);
  EXPECT_THROW(Pointer::parse("a"), std::invalid_argument);
  EXPECT_THROW(Pointer::parse("/a~2"), std::invalid_argument);
  EXPECT_TRUE(Pointer::parse("/a~1b/m~0n/0").remove(doc));
  EXPECT_EQ(dump(doc), R"({"a/b":{"m~n":[20]},"":1})");
}

TEST(JsonDocumentTest, IntegerIdentitiesMatchEveryOtherSpelling) {
  using pb::json::identity;
  using pb::json::parse;
  for (const char* pair : {"1000|1e3", "-5|-5.0", "0|-0.0", "120|1.2e2", "7|70e-1",
                           "18446744073709551615|1.8446744073709551615e19",
                           "-9223372036854775808|-9.223372036854775808e18"}) {
    const std::string text = pair;
    const std::string a = text.substr(0, text.find('|'));
    const std::string b = text.substr(text.find('|') + 1);
    EXPECT_EQ(identity(parse(a)), identity(parse(b))) << a << " vs " << b;
    EXPECT_EQ(identity(parse(a)), "n" + pb::json::canonical_number(parse(b))) << a;
  }
  EXPECT_NE(identity(parse("10")), identity(parse("1")));
  EXPECT_NE(identity(parse("-1")), identity(parse("1")));
  EXPECT_EQ(identity(parse("[1,{\"b\":2,\"a\":1}]")), identity(parse("[1.0,{\"a\":1,\"b\":2e0}]")));
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::json
