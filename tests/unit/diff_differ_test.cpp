#include "diff/differ.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "diff/items.h"
#include "diff/json_patch.h"
#include "diff/sequence.h"
#include "json/document.h"
#include "support/file_local.h"

namespace pb::diff {
namespace PB_FILE_LOCAL {

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

// A member that makes a small test document larger than the patches below.
const std::string kNote = R"("note":")" + std::string(100, '.') + R"(")";

TEST(DiffComputeTest, EachModeDescribesAChange) {
  const std::string a = R"({"n":1,"list":[{"id":1},{"id":2}],)" + kNote + "}";
  const std::string b = R"({"n":2.50,"list":[{"id":2},{"id":1}],)" + kNote + "}";
  EXPECT_EQ(changes(a, b, mode(DiffMode::kSnapshot)), Out{"snapshot " + b});
  EXPECT_EQ(changes(a, b, mode(DiffMode::kJsonPatch, "id")),
            Out{R"(patch [{"op":"replace","path":"/n","value":2.50},)"
                R"({"op":"move","from":"/list/1","path":"/list/0"}])"});
  EXPECT_EQ(changes(a, b, mode(DiffMode::kMergePatch)),
            Out{R"(merge-patch {"n":2.50,"list":[{"id":2},{"id":1}]})"});
  const std::string still = R"({"id":9,)" + kNote + "}";
  EXPECT_EQ(changes(R"([{"id":1},{"id":2},)" + still + "]", R"([{"id":2,"v":1},)" + still + "]",
                    mode(DiffMode::kItems, "id")),
            (Out{R"(deleted {"key":1})", R"(updated {"key":2,"index":0,"value":{"id":2,"v":1},)"
                                         R"("patch":[{"op":"add","path":"/v","value":1}]})"}));
}

TEST(DiffComputeTest, MergePatchFallsBackToASnapshotForNulls) {
  EXPECT_EQ(changes(R"({"a":1,"b":2})", R"({"a":null,"b":2})", mode(DiffMode::kMergePatch)),
            Out{R"(snapshot {"a":null,"b":2})"});
  EXPECT_EQ(changes(R"({"a":1,"b":2,)" + kNote + "}", R"({"b":2,)" + kNote + "}",
                    mode(DiffMode::kMergePatch)),
            Out{R"(merge-patch {"a":null})"});
}

TEST(DiffComputeTest, AnEventIsNeverLargerThanTheSnapshot) {
  // One replace operation alone is larger than this whole document.
  EXPECT_EQ(changes(R"({"v":1})", R"({"v":2})", mode(DiffMode::kJsonPatch)),
            Out{R"(snapshot {"v":2})"});
  // A removal as a merge patch ({"a":null}) is larger than what is left.
  EXPECT_EQ(changes(R"({"a":1,"b":2})", R"({"b":2})", mode(DiffMode::kMergePatch)),
            Out{R"(snapshot {"b":2})"});
  // Items mode has its own bound (ItemEventsOutliveSmallDocuments below).
  // Equal size is still a patch.
  const std::string doc = R"({"list":[1,2,3],)" + kNote + "}";
  const std::string next = R"({"list":[1,2,4],)" + kNote + "}";
  auto out = changes(doc, next, mode(DiffMode::kJsonPatch));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], R"(patch [{"op":"replace","path":"/list/2","value":4}])");
  // Everything changed: the patch would be larger, so a snapshot.
  Json from = Json::array();
  Json to = Json::array();
  for (int i = 0; i < 200; ++i) {
    from.push_back(Json::array({i, i + 1}));
    to.push_back(Json::array({i + 1, i}));
  }
  out = changes(&from, to, mode(DiffMode::kJsonPatch));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], "snapshot " + dump(to));
}

TEST(DiffComputeTest, ItemEventsOutliveSmallDocuments) {
  // Item events mean something a snapshot does not (a created order), so a
  // short list keeps them even when they are larger than the whole list;
  // json-patch and merge-patch still fall back to a snapshot for the same
  // change, since a snapshot loses nothing there.
  const Options items = mode(DiffMode::kItems, "id");
  EXPECT_EQ(changes(R"([{"id":1},{"id":2}])", R"([{"id":1},{"id":2},{"id":3}])", items),
            Out{R"(created {"key":3,"index":2,"value":{"id":3}})"});
  EXPECT_EQ(changes(R"([{"id":1}])", R"([{"id":1,"v":1}])", items),
            Out{R"(updated {"key":1,"index":0,"value":{"id":1,"v":1},)"
                R"("patch":[{"op":"add","path":"/v","value":1}]})"});
  EXPECT_EQ(changes(R"([{"id":1},{"id":2}])", R"([{"id":2}])", items), Out{R"(deleted {"key":1})"});
  EXPECT_EQ(changes(R"([{"id":1},{"id":2}])", R"([{"id":1},{"id":2},{"id":3}])",
                    mode(DiffMode::kJsonPatch, "id")),
            Out{R"(snapshot [{"id":1},{"id":2},{"id":3}])"});
  EXPECT_EQ(changes(R"({"a":1,"b":2})", R"({"b":2})", mode(DiffMode::kMergePatch)),
            Out{R"(snapshot {"b":2})"});
  // An element of a few KiB joining a two-element list: within the allowance.
  const std::string big = R"({"id":3,"text":")" + std::string(3000, 'x') + R"("})";
  auto out = changes(R"([{"id":1},{"id":2}])", R"([{"id":1},{"id":2},)" + big + "]", items);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rfind("created ", 0), 0u);
}

TEST(DiffComputeTest, PathologicalItemEventsBecomeOneSnapshot) {
  // 3000 tiny elements all rewritten: an updated event each (the element
  // and its patch, about 6 times the element). Past
  // kItemsEventDocumentMultiple x the document + kItemsEventAllowance the
  // change is one snapshot.
  const Options items = mode(DiffMode::kItems, "id");
  Json from = Json::array();
  Json to = Json::array();
  for (int i = 0; i < 3000; ++i) {
    from.push_back(parse("{\"id\":" + std::to_string(i) + ",\"v\":0}"));
    to.push_back(parse("{\"id\":" + std::to_string(i) + ",\"v\":1}"));
  }
  std::size_t event_bytes = 0;
  for (const auto& c : diff_items(from, to, items.key)) event_bytes += c.data.size();
  ASSERT_GT(event_bytes, items_event_budget(json::dumped_size(to))) << "a pathological change";
  auto out = compute(&from, to, items);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, "snapshot");
  EXPECT_EQ(out[0].data, dump(to));
  // The bound is on the events together: a tenth of the elements rewritten
  // fits.
  Json tenth = from;
  for (std::size_t i = 0; i < 300; ++i) tenth[i] = to[i];
  out = compute(&from, tenth, items);
  ASSERT_EQ(out.size(), 300u);
  EXPECT_EQ(out[0].type, "updated");
}

TEST(DiffComputeTest, ItemsEventBudgetIsFourDocumentsAndFourKiB) {
  EXPECT_EQ(items_event_budget(0), 4096u);
  EXPECT_EQ(items_event_budget(1000), 8096u);
  EXPECT_EQ(items_event_budget(static_cast<std::size_t>(-1)), static_cast<std::size_t>(-1));
}

TEST(DiffComputeTest, ReversedRowsOfALargeMatrixGiveOneSnapshot) {
  // The case from issue 13: 650 rows of 650 numbers whose rows reverse made
  // a 33 MB patch of a 2.85 MB document. The diff now gives up as soon as
  // its patch outgrows the document.
  Json from = Json::array();
  for (int r = 0; r < 650; ++r) {
    Json row = Json::array();
    for (int c = 0; c < 650; ++c) row.push_back(r * 1000 + c);
    from.push_back(std::move(row));
  }
  // Each row reversed (the 33 MB case), and the rows reversed.
  Json rows_reversed = Json::array();
  Json order_reversed = Json::array();
  for (int r = 0; r < 650; ++r) {
    Json row = Json::array();
    for (int c = 649; c >= 0; --c) row.push_back(r * 1000 + c);
    rows_reversed.push_back(std::move(row));
    order_reversed.push_back(from[static_cast<std::size_t>(649 - r)]);
  }
  for (const Json* to : {&rows_reversed, &order_reversed}) {
    auto out = compute(&from, *to, mode(DiffMode::kJsonPatch));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].type, "snapshot");
    EXPECT_EQ(out[0].data.size(), json::dumped_size(*to));
  }
}

TEST(DiffComputeTest, DumpedSizeIsTheSizeOfTheDump) {
  for (const char* text :
       {R"({"a":[1,-2,3.50,1e3,true,false,null],"b":"x\"y\n\u0001z","":{}})", "[]", "{}",
        R"("\u00e9")", "18446744073709551615", "-0", R"([[[]],{"k":[{}]}])"}) {
    const Json v = parse(text);
    EXPECT_EQ(json::dumped_size(v), dump(v).size()) << text;
  }
  Json built = Json::object();
  built["f"] = 0.25;
  built["u"] = 7u;
  EXPECT_EQ(json::dumped_size(built), dump(built).size());
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

}  // namespace PB_FILE_LOCAL
}  // namespace pb::diff
