#include "diff/merge_patch.h"

#include <gtest/gtest.h>

#include <string>

#include "json/document.h"
#include "support/file_local.h"

namespace pb::diff {
namespace PB_FILE_LOCAL {

using json::dump;
using json::equal;
using json::parse;

// The merge patch from -> to, after checking that applying it gives `to`
// (member order included, for these cases).
std::string round_trip(const std::string& from_text, const std::string& to_text) {
  const Json from = parse(from_text);
  const Json to = parse(to_text);
  const Json patch = merge_patch(from, to);
  Json result = from;
  apply_merge_patch(result, patch);
  EXPECT_TRUE(equal(result, to)) << dump(patch) << " gave " << dump(result);
  EXPECT_EQ(dump(result), dump(to));
  // nlohmann's own applier agrees.
  Json theirs = from;
  theirs.merge_patch(patch);
  EXPECT_EQ(dump(theirs), dump(result));
  return dump(patch);
}

TEST(MergePatchTest, ChangedMembersRecurseAndRemovedOnesBecomeNull) {
  EXPECT_EQ(
      round_trip(R"({"a":{"b":1,"c":2},"d":3,"e":[1]})", R"({"a":{"b":1,"c":5},"e":[1],"f":4})"),
      R"({"a":{"c":5},"f":4,"d":null})");
}

TEST(MergePatchTest, EqualObjectsGiveAnEmptyPatch) {
  EXPECT_EQ(dump(merge_patch(parse(R"({"a":1.10,"b":[1]})"), parse(R"({"b":[1],"a":1.1})"))), "{}");
}

TEST(MergePatchTest, NonObjectsAreReplacedWhole) {
  EXPECT_EQ(round_trip(R"({"a":[1,2,3]})", R"({"a":[1,2]})"), R"({"a":[1,2]})");
  EXPECT_EQ(round_trip(R"({"a":{"x":1}})", R"({"a":"s"})"), R"({"a":"s"})");
  EXPECT_EQ(round_trip(R"({"a":"s"})", R"({"a":{"x":1}})"), R"({"a":{"x":1}})");
  EXPECT_EQ(round_trip(R"({"a":1})", "[1]"), "[1]");
  EXPECT_EQ(round_trip("[1]", R"({"a":1})"), R"({"a":1})");
  EXPECT_EQ(round_trip(R"({"a":1})", "null"), "null");
}

TEST(MergePatchTest, NumberTextAndEscapedNamesArePreserved) {
  EXPECT_EQ(round_trip(R"({"a/b":1.1,"m~n":1})", R"({"a/b":1.250,"m~n":123456789012345678901})"),
            R"({"a/b":1.250,"m~n":123456789012345678901})");
}

TEST(MergePatchTest, NullsInsideArraysAreFine) {
  EXPECT_EQ(round_trip(R"({"a":[1]})", R"({"a":[null,{"x":null}]})"), R"({"a":[null,{"x":null}]})");
}

TEST(MergePatchTest, NullMembersCannotBeExpressed) {
  // A changed member that becomes null, a new null member, a null inside a
  // new object: a merge patch would remove them.
  EXPECT_FALSE(try_merge_patch(parse(R"({"a":1})"), parse(R"({"a":null})")));
  EXPECT_FALSE(try_merge_patch(parse(R"({"a":1})"), parse(R"({"a":1,"b":null})")));
  EXPECT_FALSE(try_merge_patch(parse(R"({"a":1})"), parse(R"({"a":{"b":{"c":null}}})")));
  EXPECT_FALSE(try_merge_patch(parse("[1]"), parse(R"({"a":null})")));
  EXPECT_THROW(merge_patch(parse(R"({"a":1})"), parse(R"({"a":null})")), DiffError);
  // An unchanged null member is fine: the patch does not mention it.
  EXPECT_EQ(round_trip(R"({"a":null,"b":1})", R"({"a":null,"b":2})"), R"({"b":2})");
}

TEST(MergePatchTest, ApplyFollowsRfc7386) {
  Json target = parse(R"({"a":"b","c":{"d":"e","f":"g"}})");
  apply_merge_patch(target, parse(R"({"a":"z","c":{"f":null}})"));
  EXPECT_EQ(dump(target), R"({"a":"z","c":{"d":"e"}})");
  target = parse(R"({"a":"foo"})");
  apply_merge_patch(target, parse(R"({"a":{"bb":{"ccc":null}}})"));
  EXPECT_EQ(dump(target), R"({"a":{"bb":{}}})");
  target = parse("[1,2]");
  apply_merge_patch(target, parse(R"({"a":"b","c":null})"));
  EXPECT_EQ(dump(target), R"({"a":"b"})");
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::diff
