#include "diff/differ.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "diff/json_patch.h"
#include "diff/sequence.h"
#include "json/document.h"

namespace pb::diff {
namespace {

using config::DiffMode;
using json::dump;
using json::parse;

Options mode(DiffMode m, const std::string& key = "") {
  Options o;
  o.mode = m;
  o.key = KeySpec::parse(key);
  return o;
}

std::vector<std::string> changes(const Json* prev, const Json& next, const Options& options) {
  std::vector<std::string> out;
  for (const auto& c : compute(prev, next, options)) out.push_back(c.type + " " + c.data);
  return out;
}

std::vector<std::string> changes(const std::string& prev, const std::string& next,
                                 const Options& options) {
  const Json p = parse(prev);
  return changes(&p, parse(next), options);
}

using Out = std::vector<std::string>;

TEST(DiffKeySpecTest, ParsesNamesAndPointers) {
  EXPECT_TRUE(KeySpec::parse("").empty());
  EXPECT_EQ(KeySpec::parse("id").pointer.str(), "/id");
  EXPECT_EQ(KeySpec::parse("a/b").pointer.str(), "/a~1b");  // a name, taken literally
  EXPECT_EQ(KeySpec::parse("/meta/id").pointer.str(), "/meta/id");
  EXPECT_EQ(KeySpec::parse("/a~1b").pointer.tokens().at(0), "a/b");
  EXPECT_THROW(KeySpec::parse("/a~2"), std::invalid_argument);
}

TEST(DiffKeySpecTest, OnlyStringsAndNumbersAreKeys) {
  const KeySpec id = KeySpec::parse("id");
  EXPECT_EQ(id.of(parse(R"({"id":1})")), id.of(parse(R"({"id":1.0})")));
  EXPECT_NE(id.of(parse(R"({"id":1})")), id.of(parse(R"({"id":"1"})")));
  EXPECT_TRUE(id.of(parse(R"({"id":""})")).has_value());
  EXPECT_FALSE(id.of(parse(R"({"id":null})")));
  EXPECT_FALSE(id.of(parse(R"({"id":true})")));
  EXPECT_FALSE(id.of(parse(R"({"id":[1]})")));
  EXPECT_FALSE(id.of(parse(R"({"x":1})")));
  EXPECT_FALSE(id.of(parse("1")));
  EXPECT_FALSE(KeySpec().of(parse(R"({"id":1})")));
  EXPECT_EQ(KeySpec::parse("/m/id").of(parse(R"({"m":{"id":"a"}})")),
            id.of(parse(R"({"id":"a"})")));
}

TEST(DiffComputeTest, FirstDocumentIsASnapshot) {
  const Json doc = parse(R"({"b":1.10,"a":[1]})");
  for (DiffMode m : {DiffMode::kSnapshot, DiffMode::kJsonPatch, DiffMode::kMergePatch}) {
    EXPECT_EQ(changes(nullptr, doc, mode(m)), Out{R"(snapshot {"b":1.10,"a":[1]})"});
  }
  EXPECT_EQ(changes(nullptr, parse(R"([{"id":1}])"), mode(DiffMode::kItems, "id")),
            Out{R"(snapshot [{"id":1}])"});
  EXPECT_EQ(changes(nullptr, Json("line 1\n\"two\""), mode(DiffMode::kText)),
            Out{"snapshot line 1\n\"two\""});
}

TEST(DiffComputeTest, EqualDocumentsGiveNothing) {
  const std::string a = R"({"a":1.10,"b":[{"id":1,"x":1e3}]})";
  const std::string b = R"({"b":[{"x":1000,"id":1}],"a":1.1})";
  for (DiffMode m : {DiffMode::kSnapshot, DiffMode::kJsonPatch, DiffMode::kMergePatch}) {
    EXPECT_TRUE(changes(a, b, mode(m, "id")).empty());
  }
  EXPECT_TRUE(changes(R"([{"id":1,"x":1.0}])", R"([{"x":1,"id":1}])", mode(DiffMode::kItems, "id"))
                  .empty());
  const Json text = Json("body");
  EXPECT_TRUE(changes(&text, Json("body"), mode(DiffMode::kText)).empty());
}

TEST(DiffComputeTest, EachModeDescribesAChange) {
  const std::string a = R"({"n":1,"list":[{"id":1},{"id":2}]})";
  const std::string b = R"({"n":2.50,"list":[{"id":2},{"id":1}]})";
  EXPECT_EQ(changes(a, b, mode(DiffMode::kSnapshot)),
            Out{R"(snapshot {"n":2.50,"list":[{"id":2},{"id":1}]})"});
  EXPECT_EQ(changes(a, b, mode(DiffMode::kJsonPatch, "id")),
            Out{R"(patch [{"op":"replace","path":"/n","value":2.50},)"
                R"({"op":"move","from":"/list/1","path":"/list/0"}])"});
  EXPECT_EQ(changes(a, b, mode(DiffMode::kMergePatch)),
            Out{R"(merge-patch {"n":2.50,"list":[{"id":2},{"id":1}]})"});
  EXPECT_EQ(changes(R"([{"id":1},{"id":2}])", R"([{"id":2,"v":1}])", mode(DiffMode::kItems, "id")),
            (Out{R"(deleted {"key":1})", R"(updated {"key":2,"index":0,"value":{"id":2,"v":1},)"
                                         R"("patch":[{"op":"add","path":"/v","value":1}]})"}));
}

TEST(DiffComputeTest, MergePatchFallsBackToASnapshotForNulls) {
  EXPECT_EQ(changes(R"({"a":1,"b":2})", R"({"a":null,"b":2})", mode(DiffMode::kMergePatch)),
            Out{R"(snapshot {"a":null,"b":2})"});
  EXPECT_EQ(changes(R"({"a":1,"b":2})", R"({"b":2})", mode(DiffMode::kMergePatch)),
            Out{R"(merge-patch {"a":null})"});
}

TEST(DiffComputeTest, ItemsModeNeedsAKeyedArray) {
  const Options items = mode(DiffMode::kItems, "id");
  try {
    changes("[]", R"({"id":1})", items);
    FAIL();
  } catch (const DiffError& e) {
    EXPECT_STREQ(e.what(), "items mode needs an array, got object");
  }
  EXPECT_THROW(changes(nullptr, parse("1.5"), items), DiffError);
  EXPECT_THROW(changes(nullptr, parse(R"([{"id":1},{"name":2}])"), items), DiffError);
}

TEST(DiffComputeTest, TextModeSendsTheRawBody) {
  const Json before = Json("a,b\n1,2\n");
  EXPECT_EQ(changes(&before, Json("a,b\n1,3\n"), mode(DiffMode::kText)),
            Out{"snapshot a,b\n1,3\n"});
  EXPECT_THROW(changes(&before, parse("[1]"), mode(DiffMode::kText)), DiffError);
  EXPECT_EQ(snapshot_data(Json("{\"x\": 1}"), DiffMode::kText), "{\"x\": 1}");
  EXPECT_EQ(snapshot_data(Json("x"), DiffMode::kSnapshot), "\"x\"");
}

TEST(DiffSequenceTest, LongestIncreasingSubsequence) {
  using V = std::vector<std::size_t>;
  EXPECT_EQ(longest_increasing_subsequence(V{}), V{});
  EXPECT_EQ(longest_increasing_subsequence(V{0, 1, 2}), (V{0, 1, 2}));
  EXPECT_EQ(longest_increasing_subsequence(V{2, 1, 0}).size(), 1u);
  const V seq{3, 0, 4, 1, 5, 2, 6};
  const V lis = longest_increasing_subsequence(seq);
  ASSERT_EQ(lis.size(), 4u);
  for (std::size_t i = 1; i < lis.size(); ++i) {
    EXPECT_LT(lis[i - 1], lis[i]);
    EXPECT_LT(seq[lis[i - 1]], seq[lis[i]]);
  }
}

TEST(DiffSequenceTest, LongestCommonSubsequence) {
  using V = std::vector<std::size_t>;
  using P = std::vector<std::pair<std::size_t, std::size_t>>;
  EXPECT_EQ(longest_common_subsequence(V{}, V{1}), P{});
  EXPECT_EQ(longest_common_subsequence(V{1, 2, 3, 4}, V{1, 3, 4}), (P{{0, 0}, {2, 1}, {3, 2}}));
  EXPECT_EQ(longest_common_subsequence(V{1, 2, 3}, V{3, 2, 1}).size(), 1u);
  EXPECT_EQ(longest_common_subsequence(V{7, 1, 2, 7, 3}, V{1, 2, 9, 3}).size(), 3u);
}

}  // namespace
}  // namespace pb::diff
