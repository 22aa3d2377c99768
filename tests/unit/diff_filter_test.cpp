#include "diff/filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "json/document.h"
#include "support/file_local.h"

namespace pb::diff {
namespace PB_FILE_LOCAL {

using json::dump;
using json::parse;
using json::Pointer;

std::string prepared(const std::string& body, const std::string& select,
                     const std::vector<std::string>& ignore = {}) {
  std::vector<Pointer> pointers;
  for (const auto& p : ignore) pointers.push_back(Pointer::parse(p));
  return dump(prepare(parse(body), Pointer::parse(select), pointers));
}

TEST(FilterTest, WholeDocumentByDefault) {
  EXPECT_EQ(prepared(R"({"b":1.10,"a":[1]})", ""), R"({"b":1.10,"a":[1]})");
}

TEST(FilterTest, SelectPicksASubDocument) {
  EXPECT_EQ(prepared(R"({"meta":{},"data":{"items":[1,2]}})", "/data/items"), "[1,2]");
  EXPECT_EQ(prepared(R"({"a/b":{"m~n":[5,6]}})", "/a~1b/m~0n/1"), "6");
  EXPECT_EQ(prepared(R"({"a":null})", "/a"), "null");
}

TEST(FilterTest, MissingSelectionIsAnError) {
  try {
    prepared(R"({"a":1})", "/x");
    FAIL();
  } catch (const DiffError& e) {
    EXPECT_STREQ(e.what(), "select /x: no such value");
  }
  EXPECT_THROW(prepared(R"({"a":[1]})", "/a/1"), DiffError);
  EXPECT_THROW(prepared(R"({"a":1})", "/a/b"), DiffError);
}

TEST(FilterTest, IgnoreIsRelativeToTheSelection) {
  EXPECT_EQ(prepared(R"({"ts":1,"data":{"ts":2,"v":3}})", "/data", {"/ts"}), R"({"v":3})");
}

TEST(FilterTest, IgnoreUsesEscapesAndKeepsOrder) {
  EXPECT_EQ(
      prepared(R"({"a/b":1,"x":2,"m~n":3,"y":{"~":4,"z":5}})", "", {"/a~1b", "/m~0n", "/y/~0"}),
      R"({"x":2,"y":{"z":5}})");
}

TEST(FilterTest, MissingIgnoredValuesAreFine) {
  EXPECT_EQ(prepared(R"({"a":1})", "", {"/b", "/a/c", "/a/0", "/z/y"}), R"({"a":1})");
}

TEST(FilterTest, IgnoredArrayElementsReferToTheOriginalIndexes) {
  EXPECT_EQ(prepared(R"({"list":[0,1,2,3]})", "", {"/list/0", "/list/1", "/list/3"}),
            R"({"list":[2]})");
  // Dropping inside an element and dropping an earlier element together.
  EXPECT_EQ(prepared(R"([{"t":1,"v":1},{"t":2,"v":2},{"t":3,"v":3}])", "", {"/0", "/2/t", "/1/t"}),
            R"([{"v":2},{"v":3}])");
}

TEST(FilterTest, IgnoringAnAncestorAndADescendantTogether) {
  EXPECT_EQ(prepared(R"({"a":{"b":{"c":1}},"d":1})", "", {"/a/b/c", "/a"}), R"({"d":1})");
  EXPECT_EQ(prepared(R"({"a":{"b":{"c":1}},"d":1})", "", {"/a", "/a/b/c"}), R"({"d":1})");
}

TEST(FilterTest, IgnoringTheRootIsAnError) {
  EXPECT_THROW(prepared(R"({"a":1})", "", {""}), DiffError);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::diff
