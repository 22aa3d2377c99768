#include "diff/json_patch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "json/document.h"
#include "support/file_local.h"

namespace pb::diff {
namespace PB_FILE_LOCAL {

using json::dump;
using json::equal;
using json::parse;

// Diffs `from` -> `to`, applies the patch with our applier and with
// nlohmann's independent one (to the patch as computed and as re-parsed from
// its wire text), and checks every result against `to`. With `check_order`,
// member order must match `to` too (callers use it where the order is
// defined: shared members in the same relative order, new members last).
Json check_docs(const Json& from, const Json& to, const std::string& key = "",
                bool check_order = true) {
  const Json patch = json_patch(from, to, KeySpec::parse(key));
  const std::string where = "from " + dump(from) + "\nto   " + dump(to) + "\npatch " + dump(patch);
  EXPECT_TRUE(patch.is_array()) << where;

  Json mine = from;
  apply_json_patch(mine, patch);
  EXPECT_TRUE(equal(mine, to)) << where << "\nours gave " << dump(mine);

  const Json theirs = from.patch(patch);
  EXPECT_TRUE(equal(theirs, to)) << where << "\nnlohmann gave " << dump(theirs);
  EXPECT_EQ(dump(mine), dump(theirs)) << where;

  Json from_wire = from;
  apply_json_patch(from_wire, parse(dump(patch)));
  EXPECT_EQ(dump(from_wire), dump(mine)) << where;

  if (check_order) {
    EXPECT_EQ(dump(mine), dump(to)) << where;
  }
  return patch;
}

Json check_patch(const std::string& from, const std::string& to, const std::string& key = "",
                 bool check_order = true) {
  return check_docs(parse(from), parse(to), key, check_order);
}

std::size_t count_ops(const Json& patch, const std::string& op) {
  return static_cast<std::size_t>(
      std::count_if(patch.begin(), patch.end(), [&](const Json& o) { return o["op"] == op; }));
}

// [{"id":0,"v":"item 0"}, ...]
Json keyed_array(std::size_t n) {
  Json out = Json::array();
  for (std::size_t i = 0; i < n; ++i) {
    Json e = Json::object();
    e["id"] = i;
    e["v"] = "item " + std::to_string(i);
    out.push_back(e);
  }
  return out;
}

TEST(JsonPatchTest, EqualDocumentsGiveNoOps) {
  EXPECT_EQ(dump(check_patch(R"({"a":1,"b":[1,2]})", R"({"a":1,"b":[1,2]})")), "[]");
  EXPECT_EQ(dump(check_patch(R"({"a":1.10,"b":1e3,"c":{"x":1,"y":2}})",
                             R"({"c":{"y":2,"x":1.0},"b":1000,"a":1.1})", "", false)),
            "[]");
}

TEST(JsonPatchTest, LargeObjectsAreMatchedByName) {
  Json from = Json::object();
  Json reordered = Json::object();
  for (int i = 0; i < 5000; ++i) from["k" + std::to_string(i)] = i;
  for (int i = 5000; i-- > 0;) reordered["k" + std::to_string(i)] = i;
  EXPECT_EQ(dump(check_docs(from, reordered, "", false)), "[]");
  reordered["k17"] = "x";
  EXPECT_EQ(dump(check_docs(from, reordered, "", false)),
            R"([{"op":"replace","path":"/k17","value":"x"}])");
}

TEST(JsonPatchTest, NestedMemberChangeIsOneReplace) {
  EXPECT_EQ(
      dump(check_patch(R"({"a":{"b":{"c":1,"d":2}},"e":3})", R"({"a":{"b":{"c":5,"d":2}},"e":3})")),
      R"([{"op":"replace","path":"/a/b/c","value":5}])");
}

TEST(JsonPatchTest, MembersAreRemovedAndAdded) {
  EXPECT_EQ(dump(check_patch(R"({"a":1,"b":{"x":1,"y":2},"c":3})",
                             R"({"a":1,"b":{"x":1,"z":[1]},"d":4})")),
            R"([{"op":"remove","path":"/c"},{"op":"remove","path":"/b/y"},)"
            R"({"op":"add","path":"/b/z","value":[1]},{"op":"add","path":"/d","value":4}])");
}

TEST(JsonPatchTest, MemberNamesAreEscaped) {
  EXPECT_EQ(
      dump(check_patch(R"({"a/b":1,"m~n":{"~/":1},"":0})", R"({"a/b":2,"m~n":{"~/":2},"":1})")),
      R"([{"op":"replace","path":"/a~1b","value":2},)"
      R"({"op":"replace","path":"/m~0n/~0~1","value":2},)"
      R"({"op":"replace","path":"/","value":1}])");
}

TEST(JsonPatchTest, TypeChangeIsReplace) {
  EXPECT_EQ(dump(check_patch(R"({"a":{"x":1},"b":"1","c":[1],"d":null})",
                             R"({"a":[1],"b":1,"c":{"0":1},"d":false})")),
            R"([{"op":"replace","path":"/a","value":[1]},{"op":"replace","path":"/b","value":1},)"
            R"({"op":"replace","path":"/c","value":{"0":1}},)"
            R"({"op":"replace","path":"/d","value":false}])");
}

TEST(JsonPatchTest, RootIsReplacedWhole) {
  EXPECT_EQ(dump(check_patch(R"({"a":1})", "[1,2]")),
            R"([{"op":"replace","path":"","value":[1,2]}])");
  EXPECT_EQ(dump(check_patch("1", R"("x")")), R"([{"op":"replace","path":"","value":"x"}])");
  EXPECT_EQ(dump(check_patch("null", R"({"a":null})")),
            R"([{"op":"replace","path":"","value":{"a":null}}])");
}

TEST(JsonPatchTest, NumberTextIsPreservedInOps) {
  EXPECT_EQ(dump(check_patch(R"({"p":1.1,"q":[1e2]})", R"({"p":1.10,"q":[100]})", "", false)),
            "[]");
  EXPECT_EQ(dump(check_patch(R"({"p":1.1,"big":12345678901234567890})",
                             R"({"p":2.50,"big":123456789012345678901})")),
            R"([{"op":"replace","path":"/p","value":2.50},)"
            R"({"op":"replace","path":"/big","value":123456789012345678901}])");
  EXPECT_EQ(dump(check_patch("[1]", "[1,1.10,-0.0,1E+2]")),
            R"([{"op":"add","path":"/1","value":1.10},{"op":"add","path":"/2","value":-0.0},)"
            R"({"op":"add","path":"/3","value":1E+2}])");
}

TEST(JsonPatchTest, SignedAndUnsignedIntegersAreNotConfused) {
  // -1 and 2^64-1 share a bit pattern; they are different numbers.
  EXPECT_EQ(dump(check_patch("[-1]", "[18446744073709551615]")),
            R"([{"op":"replace","path":"/0","value":18446744073709551615}])");
}

TEST(JsonPatchTest, InsertIntoUnkeyedArrayIsOneAdd) {
  EXPECT_EQ(dump(check_patch("[1,2,3,4]", "[1,2,9,3,4]")),
            R"([{"op":"add","path":"/2","value":9}])");
  EXPECT_EQ(dump(check_patch("[1,2]", "[0,1,2,3]")),
            R"([{"op":"add","path":"/0","value":0},{"op":"add","path":"/3","value":3}])");
}

TEST(JsonPatchTest, RemoveFromUnkeyedArrayIsOneRemove) {
  EXPECT_EQ(dump(check_patch("[1,2,3,4]", "[1,3,4]")), R"([{"op":"remove","path":"/1"}])");
  EXPECT_EQ(dump(check_patch(R"([{"a":1},{"b":2},{"c":3}])", R"([{"a":1},{"c":3}])")),
            R"([{"op":"remove","path":"/1"}])");
}

TEST(JsonPatchTest, ChangedUnkeyedElementIsDiffedInside) {
  EXPECT_EQ(dump(check_patch(R"([{"a":1,"b":2},5])", R"([{"a":1,"b":3},5])")),
            R"([{"op":"replace","path":"/0/b","value":3}])");
}

TEST(JsonPatchTest, UnkeyedArrayCanBeReversedAndShuffled) {
  check_patch("[1,2,3,4,5,6,7]", "[7,6,5,4,3,2,1]");
  check_patch("[]", "[1,2]");
  check_patch("[1,2]", "[]");
  check_patch(R"([1,"a",null,[2],{"x":1},true])", R"([true,{"x":2},[2],"a",1])");
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    Json from = Json::array();
    for (int i = 0; i < 30; ++i) from.push_back(static_cast<int>(rng() % 10));
    Json to = from;
    std::shuffle(to.begin(), to.end(), rng);
    to.erase(static_cast<std::size_t>(rng() % to.size()));
    to.insert(to.begin() + static_cast<long>(rng() % to.size()), 99);
    check_docs(from, to);
  }
}

TEST(JsonPatchTest, LongUnkeyedArrayPastTheLcsLimitIsStillCorrect) {
  Json from = Json::array();
  Json to = Json::array();
  for (int i = 0; i < 1500; ++i) from.push_back(i);
  for (int i = 0; i < 1600; ++i) to.push_back(i % 3 == 0 ? i : -i);
  // 1499 * 1599 cells is past kMaxLcsCells: the array is replaced whole.
  EXPECT_EQ(dump(check_docs(from, to)), R"([{"op":"replace","path":"","value":)" + dump(to) + "}]");
  to = from;
  to.insert(to.begin() + 10, -1);
  to.erase(1400);
  to.push_back(7);
  check_docs(from, to);
}

TEST(JsonPatchTest, ArraysJustUnderTheLcsLimitAreAligned) {
  // 1000 x 1000 middle cells: within kMaxLcsCells, so an insert near the
  // start is one add.
  Json from = Json::array();
  for (int i = 0; i < 1000; ++i) from.push_back(i);
  Json to = from;
  to.insert(to.begin() + 1, -1);
  to.erase(to.size() - 1);
  to.push_back(-2);
  EXPECT_LE((from.size() - 1) * (to.size() - 1), kMaxLcsCells);
  const Json patch = check_docs(from, to);
  EXPECT_EQ(dump(patch), R"([{"op":"add","path":"/1","value":-1},)"
                         R"({"op":"replace","path":"/1000","value":-2}])");
}

TEST(JsonPatchTest, OneDiffSpendsAtMostItsLcsBudget) {
  // Twelve arrays whose first and last elements change, so each needs a
  // 1000 x 1000 alignment: the first ones get it (two replaces each), and
  // once kMaxLcsCellsPerDiff is spent the others are replaced whole.
  Json from = Json::object();
  Json to = Json::object();
  for (int a = 0; a < 12; ++a) {
    Json f = Json::array();
    for (int i = 0; i < 1000; ++i) f.push_back(i);
    Json t = f;
    t[0] = -1;
    t[999] = -1;
    from["a" + std::to_string(a)] = f;
    to["a" + std::to_string(a)] = t;
  }
  const std::size_t aligned = kMaxLcsCellsPerDiff / (1000 * 1000);
  ASSERT_LT(aligned, 12u);
  const Json patch = check_docs(from, to);
  ASSERT_EQ(patch.size(), aligned * 2 + (12 - aligned));
  for (std::size_t i = aligned * 2; i < patch.size(); ++i) {
    EXPECT_EQ(patch[i]["op"], "replace");
    EXPECT_TRUE(patch[i]["value"].is_array()) << "replaced whole";
  }
}

TEST(JsonPatchTest, PatchTextStopsAtItsByteBudget) {
  const Json from = parse(R"({"a":1,"b":[1,2,3],"c":"x"})");
  const Json to = parse(R"({"a":2,"b":[3,2,1],"c":"y"})");
  PatchBudget roomy;
  auto text = json_patch_text(from, to, KeySpec(), roomy);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, dump(json_patch(from, to, KeySpec())));
  PatchBudget exact;
  exact.bytes = text->size();
  EXPECT_EQ(json_patch_text(from, to, KeySpec(), exact), text);
  PatchBudget tight;
  tight.bytes = text->size() - 1;
  EXPECT_FALSE(json_patch_text(from, to, KeySpec(), tight));
}

TEST(JsonPatchTest, InsertIntoKeyedArrayIsOneAdd) {
  const Json from = keyed_array(1000);
  Json to = from;
  to.insert(to.begin() + 500, parse(R"({"id":"new","v":"x"})"));
  EXPECT_EQ(dump(check_docs(from, to, "id")),
            R"([{"op":"add","path":"/500","value":{"id":"new","v":"x"}}])");
  to = from;
  to.insert(to.begin(), parse(R"({"id":-1})"));
  EXPECT_EQ(dump(check_docs(from, to, "id")), R"([{"op":"add","path":"/0","value":{"id":-1}}])");
  to = from;
  to.push_back(parse(R"({"id":1000})"));
  EXPECT_EQ(dump(check_docs(from, to, "id")),
            R"([{"op":"add","path":"/1000","value":{"id":1000}}])");
}

TEST(JsonPatchTest, RemoveFromKeyedArrayIsOneRemove) {
  const Json from = keyed_array(1000);
  for (std::size_t at : {0u, 1u, 500u, 999u}) {
    Json to = from;
    to.erase(at);
    EXPECT_EQ(dump(check_docs(from, to, "id")),
              R"([{"op":"remove","path":"/)" + std::to_string(at) + R"("}])");
  }
}

TEST(JsonPatchTest, MoveInKeyedArrayIsOneMove) {
  const Json from = keyed_array(1000);
  struct Case {
    std::size_t from, to;
  };
  for (Case c : {Case{10, 900}, Case{900, 10}, Case{0, 999}, Case{999, 0}, Case{3, 4}}) {
    Json to = from;
    Json moved = to[c.from];
    to.erase(c.from);
    to.insert(to.begin() + static_cast<long>(c.to), moved);
    const Json patch = check_docs(from, to, "id");
    ASSERT_EQ(patch.size(), 1u) << dump(patch);
    EXPECT_EQ(patch[0]["op"], "move");
  }
}

TEST(JsonPatchTest, MovedAndChangedKeyedElementIsMoveThenInnerOps) {
  EXPECT_EQ(dump(check_patch(R"([{"id":1,"v":1},{"id":2,"v":2},{"id":3,"v":3}])",
                             R"([{"id":2,"v":2},{"id":3,"v":3},{"id":1,"v":9}])", "id")),
            R"([{"op":"move","from":"/0","path":"/2"},{"op":"replace","path":"/2/v","value":9}])");
}

TEST(JsonPatchTest, ShuffledKeyedArrayMovesOnlyWhatItMust) {
  std::mt19937 rng(42);
  const Json from = keyed_array(300);
  for (int round = 0; round < 20; ++round) {
    Json to = from;
    std::shuffle(to.begin(), to.end(), rng);
    const Json patch = check_docs(from, to, "id");
    EXPECT_EQ(count_ops(patch, "move"), patch.size());
    EXPECT_LT(patch.size(), 300u);
  }
  Json reversed = from;
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(check_docs(from, reversed, "id").size(), 299u);
}

TEST(JsonPatchTest, MixedKeyedChangesApply) {
  std::mt19937 rng(3);
  for (int round = 0; round < 200; ++round) {
    Json from = keyed_array(40);
    Json to = from;
    int next_id = 1000;
    for (int step = 0; step < 8; ++step) {
      const std::size_t at = rng() % to.size();
      switch (rng() % 4) {
        case 0:
          to.erase(at);
          break;
        case 1:
          to.insert(to.begin() + static_cast<long>(at),
                    parse(R"({"id":)" + std::to_string(next_id++) + "}"));
          break;
        case 2: {
          Json moved = to[at];
          to.erase(at);
          to.insert(to.begin() + static_cast<long>(rng() % (to.size() + 1)), moved);
          break;
        }
        default:
          to[at]["v"] = "changed " + std::to_string(step);
          to[at]["w"] = step;
      }
    }
    const Json patch = check_docs(from, to, "id");
    EXPECT_LE(patch.size(), 16u) << dump(patch);
  }
}

TEST(JsonPatchTest, KeyedArrayInsideObjectsIsDiffedByKey) {
  EXPECT_EQ(dump(check_patch(
                R"({"data":{"items":[{"id":"a","n":1},{"id":"b","n":2}]},"ts":1})",
                R"({"data":{"items":[{"id":"c","n":0},{"id":"b","n":3},{"id":"a","n":1}]},"ts":1})",
                "id")),
            R"([{"op":"add","path":"/data/items/0","value":{"id":"c","n":0}},)"
            R"({"op":"move","from":"/data/items/2","path":"/data/items/1"},)"
            R"({"op":"replace","path":"/data/items/1/n","value":3}])");
}

TEST(JsonPatchTest, KeyCanBeAPointer) {
  EXPECT_EQ(dump(check_patch(R"([{"m":{"id":1}},{"m":{"id":2}},{"m":{"id":3}}])",
                             R"([{"m":{"id":1}},{"m":{"id":3}}])", "/m/id")),
            R"([{"op":"remove","path":"/1"}])");
}

TEST(JsonPatchTest, KeysCompareByValue) {
  // 1 and 1.0 are the same key; "1" is another one.
  EXPECT_EQ(dump(check_patch(R"([{"id":1,"v":1},{"id":"1","v":2}])",
                             R"([{"id":"1","v":2},{"id":1.0,"v":1}])", "id", false)),
            R"([{"op":"move","from":"/1","path":"/0"}])");
}

TEST(JsonPatchTest, ArraysWithoutUsableKeysFallBackToPositions) {
  // One element lacks the key, keys are duplicated, a key is an object,
  // elements are not objects: all diffed by position, still correct.
  check_patch(R"([{"id":1},{"id":2},{"x":3}])", R"([{"id":2},{"x":3},{"id":1}])", "id");
  check_patch(R"([{"id":1},{"id":1,"v":2}])", R"([{"id":1,"v":2},{"id":1}])", "id");
  check_patch(R"([{"id":{"a":1}},{"id":2}])", R"([{"id":2},{"id":{"a":1}}])", "id");
  EXPECT_EQ(dump(check_patch("[1,2,3]", "[1,3]", "id")), R"([{"op":"remove","path":"/1"}])");
}

TEST(JsonPatchTest, DeepDocumentsAreDiffed) {
  std::string from_text(json::kMaxDepth, '[');
  std::string to_text = from_text;
  from_text += "1" + std::string(json::kMaxDepth, ']');
  to_text += "2" + std::string(json::kMaxDepth, ']');
  const Json patch = check_patch(from_text, to_text);
  ASSERT_EQ(patch.size(), 1u);
  EXPECT_EQ(patch[0]["op"], "replace");

  // Built in code past the parse limit: replaced at the limit, not recursed.
  Json deep_from = 1;
  Json deep_to = 2;
  for (std::size_t i = 0; i < json::kMaxDepth + 20; ++i) {
    deep_from = Json::array({deep_from});
    deep_to = Json::array({deep_to});
  }
  const Json limited = check_docs(deep_from, deep_to);
  ASSERT_EQ(limited.size(), 1u);
  EXPECT_EQ(limited[0]["path"].get<std::string>().size(), 2 * json::kMaxDepth);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::diff
