#include "diff/items.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "diff/json_patch.h"
#include "json/document.h"
#include "support/file_local.h"

namespace pb::diff {
namespace PB_FILE_LOCAL {

using json::dump;
using json::parse;

std::vector<std::string> events(const std::string& before, const std::string& after,
                                const std::string& key = "id") {
  std::vector<std::string> out;
  for (const auto& c : diff_items(parse(before), parse(after), KeySpec::parse(key))) {
    out.push_back(c.type + " " + c.data);
  }
  return out;
}

std::string error_of(const std::string& before, const std::string& after,
                     const std::string& key = "id") {
  try {
    diff_items(parse(before), parse(after), KeySpec::parse(key));
  } catch (const DiffError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ItemsTest, EventsHaveTheDocumentedData) {
  EXPECT_EQ(events(R"([{"id":1,"n":"a"},{"id":2,"n":"b"},{"id":3,"n":"c"}])",
                   R"([{"id":3,"n":"c"},{"id":1,"n":"A"},{"id":4,"n":"d"}])"),
            (std::vector<std::string>{
                R"(deleted {"key":2})",
                R"(updated {"key":1,"index":1,"value":{"id":1,"n":"A"},)"
                R"("patch":[{"op":"replace","path":"/n","value":"A"}]})",
                R"(created {"key":4,"index":2,"value":{"id":4,"n":"d"}})",
            }));
}

TEST(ItemsTest, DeletedComeFirstInOldOrderThenNewArrayOrder) {
  EXPECT_EQ(events(R"([{"id":"a"},{"id":"b"},{"id":"c"},{"id":"d","v":1}])",
                   R"([{"id":"x"},{"id":"d","v":2},{"id":"y"}])"),
            (std::vector<std::string>{
                R"(deleted {"key":"a"})",
                R"(deleted {"key":"b"})",
                R"(deleted {"key":"c"})",
                R"(created {"key":"x","index":0,"value":{"id":"x"}})",
                R"(updated {"key":"d","index":1,"value":{"id":"d","v":2},)"
                R"("patch":[{"op":"replace","path":"/v","value":2}]})",
                R"(created {"key":"y","index":2,"value":{"id":"y"}})",
            }));
}

TEST(ItemsTest, MovedButUnchangedElementEmitsNothing) {
  EXPECT_TRUE(events(R"([{"id":1},{"id":2},{"id":3}])", R"([{"id":3},{"id":1},{"id":2}])").empty());
  // Member order and number spelling are not changes either.
  EXPECT_TRUE(events(R"([{"id":1,"a":1.10,"b":2}])", R"([{"b":2,"a":1.1,"id":1.0}])").empty());
}

TEST(ItemsTest, KeyValueKeepsItsText) {
  EXPECT_EQ(events(R"([{"id":1.50,"v":1}])", R"([{"id":1.5,"v":2},{"id":123456789012345678901}])"),
            (std::vector<std::string>{
                R"(updated {"key":1.5,"index":0,"value":{"id":1.5,"v":2},)"
                R"("patch":[{"op":"replace","path":"/v","value":2}]})",
                R"(created {"key":123456789012345678901,"index":1,)"
                R"("value":{"id":123456789012345678901}})",
            }));
  EXPECT_EQ(events(R"([{"id":1.50}])", "[]"),
            (std::vector<std::string>{R"(deleted {"key":1.50})"}));
}

TEST(ItemsTest, KeyCanBeAPointerWithEscapes) {
  EXPECT_EQ(events(R"([{"m/x":{"id":"a"},"v":1}])", R"([{"m/x":{"id":"a"},"v":2}])", "/m~1x/id"),
            (std::vector<std::string>{
                R"(updated {"key":"a","index":0,"value":{"m/x":{"id":"a"},"v":2},)"
                R"("patch":[{"op":"replace","path":"/v","value":2}]})",
            }));
}

TEST(ItemsTest, UpdatePatchDiffsNestedArraysByTheSameKey) {
  const auto out = events(R"([{"id":1,"sub":[{"id":"x"},{"id":"y"},{"id":"z"}]}])",
                          R"([{"id":1,"sub":[{"id":"x"},{"id":"z"}]}])");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find(R"("patch":[{"op":"remove","path":"/sub/1"}])"), std::string::npos)
      << out[0];
}

TEST(ItemsTest, ElementsWithoutAUsableKeyAreErrors) {
  EXPECT_EQ(error_of(R"([{"id":1}])", R"([{"id":1},{"id":2},{"id":3},{"name":"x"}])"),
            R"(element 3 has no key "/id")");
  EXPECT_EQ(error_of("[]", R"([{"id":{"a":1}}])"), R"(element 0 has no key "/id")");
  EXPECT_EQ(error_of("[]", R"([{"id":true}])"), R"(element 0 has no key "/id")");
  EXPECT_EQ(error_of("[]", "[5]"), R"(element 0 has no key "/id")");
  EXPECT_EQ(error_of("[]", R"([{"id":1},{"id":2},{"id":1.0}])"),
            R"(element 2 has the same key "/id" as element 0: 1.0)");
  EXPECT_EQ(error_of(R"([{"x":1}])", "[]"), R"(previous document: element 0 has no key "/id")");
  EXPECT_EQ(error_of("[]", R"({"id":1})"), "items mode needs an array, got object");
  EXPECT_EQ(error_of("[]", "[]", ""), "items mode needs a key");
}

TEST(ItemsTest, UpdatePatchesApplyToTheOldElement) {
  const Json before = parse(R"([{"id":1,"a":{"b":[1,2]},"c":"x"},{"id":2}])");
  const Json after = parse(R"([{"id":2,"z":0},{"id":1,"a":{"b":[2,3]}}])");
  const KeySpec key = KeySpec::parse("id");
  for (const auto& change : diff_items(before, after, key)) {
    ASSERT_EQ(change.type, "updated");
    const Json data = parse(change.data);
    Json element = *(data["key"] == 1 ? &before[0] : &before[1]);
    apply_json_patch(element, data["patch"]);
    EXPECT_TRUE(json::equal(element, data["value"])) << change.data;
    EXPECT_TRUE(json::equal(after[data["index"].get<std::size_t>()], data["value"]));
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::diff
