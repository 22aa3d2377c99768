// Duplicate member names, large objects and the member helpers behind them
// (src/json/members.h): the parser appends members without a lookup and
// merges duplicates when an object ends, and must still treat them the way
// JSON.parse does.
#include "json/members.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "json/document.h"
#include "support/file_local.h"

namespace pb::json {
namespace PB_FILE_LOCAL {

// {"m0":0,"m1":1,...} with `n` members, the text without the closing brace.
std::string members_text(std::size_t n) {
  std::string out = "{";
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    out += "\"m" + std::to_string(i) + "\":" + std::to_string(i);
  }
  return out;
}

TEST(JsonMembersTest, DuplicateNameTheLastValueWinsAtTheFirstPosition) {
  EXPECT_EQ(dump(parse(R"({"a":1,"b":2,"a":3})")), R"({"a":3,"b":2})");
  EXPECT_EQ(dump(parse(R"({"a":1,"a":2,"a":3})")), R"({"a":3})");
  EXPECT_EQ(dump(parse(R"({"b":0,"a":1,"c":2,"a":null,"b":"x"})")), R"({"b":"x","a":null,"c":2})");
  // A duplicate replaces the whole value, nested members included.
  EXPECT_EQ(dump(parse(R"({"a":{"x":1,"z":[1]},"b":0,"a":{"y":2}})")), R"({"a":{"y":2},"b":0})");
  EXPECT_EQ(dump(parse(R"({"a":[1,2],"a":1.50})")), R"({"a":1.50})");
}

TEST(JsonMembersTest, DuplicatesAreMergedPerObjectOnly) {
  // The same name in a nested object, a sibling object or an array element
  // is not a duplicate; duplicates inside each object merge on their own.
  const std::string text = R"({"a":{"a":1,"a":2},"b":[{"a":1},{"a":2,"a":3}],"c":{"a":4}})";
  EXPECT_EQ(dump(parse(text)), R"({"a":{"a":2},"b":[{"a":1},{"a":3}],"c":{"a":4}})");
}

TEST(JsonMembersTest, DuplicatesInALargeObjectFollowTheSameRule) {
  // Past kPairwiseMembers names are compared by sorting, not pairwise.
  const std::size_t n = 3 * kPairwiseMembers;
  const std::string text = members_text(n) + R"(,"m5":"five","m0":{"z":0},"m5":"last","m)" +
                           std::to_string(n - 1) + R"(":-0})";
  const Json doc = parse(text);
  ASSERT_EQ(doc.size(), n);
  std::size_t i = 0;
  for (auto it = doc.begin(); it != doc.end(); ++it, ++i) {
    EXPECT_EQ(it.key(), "m" + std::to_string(i));  // first positions kept
  }
  EXPECT_EQ(dump(doc["m0"]), R"({"z":0})");
  EXPECT_EQ(dump(doc["m5"]), R"("last")");
  EXPECT_EQ(dump(doc["m" + std::to_string(n - 1)]), "-0");
  EXPECT_EQ(dump(doc["m6"]), "6");
}

TEST(JsonMembersTest, NamesThatCollideInTheHashTableFollowTheSameRule) {
  // Names chosen so that std::hash puts them all in one slot of the table
  // duplicate detection uses for 256 members (512 slots): they exhaust its
  // probe budget, and the names are sorted instead.
  constexpr std::size_t kNames = 250;
  constexpr std::size_t kSlotMask = 511;
  const std::hash<std::string_view> hash;
  std::vector<std::string> names;
  for (std::size_t i = 0; names.size() < kNames; ++i) {
    std::string name = "c" + std::to_string(i);
    if ((hash(name) & kSlotMask) == 7) names.push_back(std::move(name));
  }
  std::string text = "{";
  for (std::size_t i = 0; i < kNames; ++i) {
    text += "\"" + names[i] + "\":" + std::to_string(i) + ",";
  }
  // Six duplicates: 256 members in all.
  for (std::size_t i : {3, 0, 249, 3, 100, 7}) {
    text += "\"" + names[i] + "\":\"again " + std::to_string(i) + "\",";
  }
  text.back() = '}';
  const Json doc = parse(text);
  ASSERT_EQ(doc.size(), kNames);
  std::size_t i = 0;
  for (auto it = doc.begin(); it != doc.end(); ++it, ++i) EXPECT_EQ(it.key(), names[i]);
  EXPECT_EQ(dump(doc[names[3]]), R"("again 3")");
  EXPECT_EQ(dump(doc[names[0]]), R"("again 0")");
  EXPECT_EQ(dump(doc[names[249]]), R"("again 249")");
  EXPECT_EQ(dump(doc[names[7]]), R"("again 7")");
  EXPECT_EQ(dump(doc[names[8]]), "8");
}

TEST(JsonMembersTest, ALargeObjectWithoutDuplicatesKeepsItsOrder) {
  // Names in descending order, so that sorting them would show.
  const std::size_t n = 10000;
  std::string text = "{";
  for (std::size_t i = n; i-- > 0;) {
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + (i > 0 ? "," : "}");
  }
  const Json doc = parse(text);
  EXPECT_EQ(doc.size(), n);
  EXPECT_EQ(dump(doc), text);
}

TEST(JsonMembersTest, EqualityOfLargeObjectsInAnotherOrder) {
  const std::size_t n = 5000;
  std::string forward = "{";
  std::string backward = "{";
  for (std::size_t i = 0; i < n; ++i) {
    forward += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + (i + 1 < n ? "," : "}");
    const std::size_t j = n - 1 - i;
    backward +=
        "\"k" + std::to_string(j) + "\":" + std::to_string(j) + ".0" + (i + 1 < n ? "," : "}");
  }
  EXPECT_TRUE(equal(parse(forward), parse(backward)));
  std::string other = backward;
  other.replace(other.find("\"k17\":17.0"), 10, "\"k17\":18.0");
  EXPECT_FALSE(equal(parse(forward), parse(other)));
}

TEST(JsonMembersTest, MemberIndexFindsEveryMember) {
  const Json doc = parse(R"({"b":1,"a":2,"":3,"a~b":4})");
  const MemberIndex index(doc);
  EXPECT_EQ(dump(*index.find("a")), "2");
  EXPECT_EQ(dump(*index.find("")), "3");
  EXPECT_EQ(dump(*index.find("a~b")), "4");
  EXPECT_TRUE(index.contains("b"));
  EXPECT_FALSE(index.contains("c"));
  EXPECT_EQ(index.find("A"), nullptr);
  const MemberIndex rest(std::next(doc.begin(), 2), doc.end());
  EXPECT_FALSE(rest.contains("a"));
  EXPECT_TRUE(rest.contains("a~b"));
}

TEST(JsonMembersTest, AssignAndMerge) {
  MemberList list;
  list.emplace_back("x", 1);
  list.emplace_back("y", 2);
  list.emplace_back("x", 3);
  Json doc;
  assign_members(doc, list);
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(doc.size(), 3u);
  merge_duplicate_members(doc);
  EXPECT_EQ(dump(doc), R"({"x":3,"y":2})");
  merge_duplicate_members(doc);  // nothing to merge
  EXPECT_EQ(dump(doc), R"({"x":3,"y":2})");
  assign_members(doc, list);  // an empty list: an empty object
  EXPECT_EQ(dump(doc), "{}");
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::json
