#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "diff/json_patch.h"
#include "json/document.h"
#include "support/file_local.h"

namespace pb::diff {
namespace PB_FILE_LOCAL {

using json::dump;
using json::parse;

std::string applied(const std::string& doc, const std::string& patch) {
  Json v = parse(doc);
  apply_json_patch(v, parse(patch));
  return dump(v);
}

// The reason apply_json_patch() gives, and a check that it left the document
// alone.
std::string failure(const std::string& doc, const std::string& patch) {
  Json v = parse(doc);
  try {
    apply_json_patch(v, parse(patch));
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(dump(v), dump(parse(doc)));
    return e.what();
  }
  ADD_FAILURE() << "patch applied: " << patch;
  return "";
}

TEST(JsonPatchApplyTest, AddsMembersAndElements) {
  EXPECT_EQ(applied(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])"),
            R"({"foo":"bar","baz":"qux"})");
  EXPECT_EQ(applied(R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])"),
            R"({"foo":["bar","qux","baz"]})");
  EXPECT_EQ(applied(R"({"foo":[1]})", R"([{"op":"add","path":"/foo/-","value":2}])"),
            R"({"foo":[1,2]})");
  EXPECT_EQ(applied(R"({"foo":[1]})", R"([{"op":"add","path":"/foo/1","value":2}])"),
            R"({"foo":[1,2]})");
  // An existing member is replaced in place.
  EXPECT_EQ(applied(R"({"a":1,"b":2})", R"([{"op":"add","path":"/a","value":[3]}])"),
            R"({"a":[3],"b":2})");
  EXPECT_EQ(applied(R"({"a":1})", R"([{"op":"add","path":"","value":[3]}])"), "[3]");
}

TEST(JsonPatchApplyTest, RemovesReplacesMovesAndCopies) {
  EXPECT_EQ(applied(R"({"a":1,"b":[1,2,3]})",
                    R"([{"op":"remove","path":"/a"},{"op":"remove","path":"/b/1"}])"),
            R"({"b":[1,3]})");
  EXPECT_EQ(applied(R"({"a":1,"b":2})", R"([{"op":"replace","path":"/a","value":9}])"),
            R"({"a":9,"b":2})");
  EXPECT_EQ(applied(R"({"a":1})", R"([{"op":"replace","path":"","value":"x"}])"), R"("x")");
  EXPECT_EQ(applied(R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
                    R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])"),
            R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})");
  // The target index of a move is read after the removal.
  EXPECT_EQ(applied("[0,1,2,3,4]", R"([{"op":"move","from":"/1","path":"/3"}])"), "[0,2,3,1,4]");
  EXPECT_EQ(applied("[0,1,2,3,4]", R"([{"op":"move","from":"/3","path":"/1"}])"), "[0,3,1,2,4]");
  EXPECT_EQ(applied(R"({"a":{"b":1}})", R"([{"op":"move","from":"/a","path":"/a"}])"),
            R"({"a":{"b":1}})");
  EXPECT_EQ(applied(R"({"a":[1],"b":{}})", R"([{"op":"copy","from":"/a","path":"/b/c"}])"),
            R"({"a":[1],"b":{"c":[1]}})");
}

TEST(JsonPatchApplyTest, PathsAreUnescaped) {
  EXPECT_EQ(applied(R"({"a/b":1,"m~n":2,"~1":3})", R"([{"op":"replace","path":"/a~1b","value":4},)"
                                                   R"({"op":"replace","path":"/m~0n","value":5},)"
                                                   R"({"op":"replace","path":"/~01","value":6}])"),
            R"({"a/b":4,"m~n":5,"~1":6})");
}

TEST(JsonPatchApplyTest, TestComparesSemantically) {
  EXPECT_EQ(applied(R"({"a":1.10,"b":{"x":1,"y":[2]}})",
                    R"([{"op":"test","path":"/a","value":1.1},)"
                    R"({"op":"test","path":"/b","value":{"y":[2.0],"x":1}}])"),
            R"({"a":1.10,"b":{"x":1,"y":[2]}})");
  EXPECT_NE(failure(R"({"a":"1"})", R"([{"op":"test","path":"/a","value":1}])").find("test failed"),
            std::string::npos);
}

TEST(JsonPatchApplyTest, ErrorsNameTheOperationAndLeaveTheDocumentUnchanged) {
  EXPECT_EQ(failure(R"({"a":1})", R"([{"op":"remove","path":"/a"},{"op":"remove","path":"/b"}])"),
            "JSON patch operation 1: no value at /b");
  EXPECT_EQ(failure(R"({"a":1})", R"([{"op":"add","path":"/x/y","value":1}])"),
            "JSON patch operation 0: no value at /x");
  EXPECT_EQ(failure(R"({"a":{"b":1}})", R"([{"op":"move","from":"/a","path":"/a/b/c"}])"),
            "JSON patch operation 0: cannot move a value into itself");
  EXPECT_EQ(failure(R"({"a":1})", R"([{"op":"remove","path":""}])"),
            "JSON patch operation 0: cannot remove the whole document");
}

TEST(JsonPatchApplyTest, MalformedPatchesAreRejected) {
  const std::string doc = R"({"a":[1,2],"s":"x"})";
  EXPECT_EQ(failure(doc, R"({"op":"remove","path":"/a"})"), "a JSON patch must be an array");
  EXPECT_EQ(failure(doc, "[1]"), "JSON patch operation 0: not an object");
  EXPECT_EQ(failure(doc, R"([{"path":"/a"}])"), R"(JSON patch operation 0: missing member "op")");
  EXPECT_EQ(failure(doc, R"([{"op":"frobnicate","path":"/a"}])"),
            R"(JSON patch operation 0: unknown op "frobnicate")");
  EXPECT_EQ(failure(doc, R"([{"op":"add","path":"/b"}])"),
            R"(JSON patch operation 0: missing member "value")");
  EXPECT_EQ(failure(doc, R"([{"op":"move","path":"/b"}])"),
            R"(JSON patch operation 0: missing member "from")");
  EXPECT_NE(failure(doc, R"([{"op":"remove","path":"a"}])").find("not a JSON pointer"),
            std::string::npos);
  EXPECT_NE(failure(doc, R"([{"op":"remove","path":7}])").find("not a string"), std::string::npos);
  // Array indexes: canonical, in range, "-" only where adding.
  EXPECT_NE(failure(doc, R"([{"op":"add","path":"/a/3","value":0}])").find("bad array index"),
            std::string::npos);
  EXPECT_NE(failure(doc, R"([{"op":"add","path":"/a/01","value":0}])").find("bad array index"),
            std::string::npos);
  EXPECT_NE(failure(doc, R"([{"op":"replace","path":"/a/2","value":0}])").find("no value"),
            std::string::npos);
  EXPECT_NE(failure(doc, R"([{"op":"remove","path":"/a/-"}])").find("no value"), std::string::npos);
  EXPECT_NE(failure(doc, R"([{"op":"add","path":"/s/x","value":0}])").find("neither"),
            std::string::npos);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::diff
