// The RFC 6902 applier and, as a pair, the json-patch differ
// (src/diff/json_patch.h, json_patch_apply.cpp, differ.h).
//
// Input: two JSON texts separated by a NUL byte (which JSON text never
// holds): a document A and a text B, read as a patch to apply to A and as a
// second document.
//
// Properties of apply_json_patch(A, B):
//  - Applying B at once gives what applying its operations one by one gives;
//    when operation i fails, the whole patch fails naming "operation i" and
//    leaves the document exactly as it was (and so does the failing
//    operation on its own).
//  - Each operation that succeeds did what RFC 6902 says: after add, replace,
//    copy and move the target holds the value (byte for byte), remove took a
//    member or element that existed, test changed nothing and its value was
//    equal.
// Properties of the differ (diff::compute() in json-patch mode, without a
// key and with key "id"), for A against B and against A with B applied:
//  - Equal documents give no event; different ones give one "patch" event
//    whose data, applied to A, gives a document equal to the new one.
//  - Members present in both documents keep A's order, new ones follow in
//    the new document's order (checked wherever both sides are objects).
//  - Every number in the result is a number token of A or of the new
//    document: values are copied, never re-spelled.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "diff/differ.h"
#include "diff/json_patch.h"
#include "fuzz_check.h"
#include "json/document.h"
#include "json/pointer.h"

namespace {

using pb::diff::Json;
using pb::fuzz::printable;
using pb::json::dump;
using pb::json::Pointer;

// Operations applied from one patch; a longer patch is cut (every
// operation is applied several times over by the checks).
constexpr std::size_t kMaxOps = 64;
// A patch can double the document with each copy of the root; past this
// size the rest of the patch is not followed.
constexpr std::size_t kMaxDocumentBytes = 1 << 16;
// Patch data nests a document's values two levels deeper (the array, the
// operation) and patched documents may be deeper than the reader's limit.
constexpr std::size_t kPatchDepth = 4 * pb::json::kMaxDepth;

std::optional<Json> parse_or_nothing(std::string_view text) {
  try {
    return pb::json::parse(text);
  } catch (const pb::json::ParseError&) {
    return std::nullopt;
  }
}

const Json* at(const Json& doc, const Json& op, const char* member) {
  return Pointer::parse(op.at(member).get<std::string>()).find(doc);
}

// What RFC 6902 says operation `op` did, given the document before and after.
void check_effect(const Json& before, const Json& after, const Json& op,
                  const std::string& detail) {
  const std::string name = op.at("op").get<std::string>();
  const Pointer path = Pointer::parse(op.at("path").get<std::string>());
  // "-" appends to an array; the path is read in the document as the
  // operation leaves it (after a move's removal), so look at `after`.
  const bool appends = !path.is_root() && path.tokens().back() == "-" &&
                       path.parent().find(after) && path.parent().find(after)->is_array();
  // The value that must now be at `path`.
  auto target_holds = [&](const Json& value) {
    const Json* now = nullptr;
    if (appends) {
      const Json* array = path.parent().find(after);
      PB_FUZZ_CHECK(array && array->is_array() && !array->empty(), detail);
      now = &array->back();
    } else {
      now = path.find(after);
    }
    PB_FUZZ_CHECK(now != nullptr && dump(*now) == dump(value),
                  detail + "\nafter " + printable(dump(after)));
  };
  if (name == "add" || name == "replace") {
    if (name == "replace") PB_FUZZ_CHECK(path.find(before) != nullptr, detail);
    target_holds(op.at("value"));
  } else if (name == "copy" || name == "move") {
    const Json* source = at(before, op, "from");
    PB_FUZZ_CHECK(source != nullptr, detail);
    target_holds(*source);
  } else if (name == "remove") {
    PB_FUZZ_CHECK(path.find(before) != nullptr, detail);
    const Json* parent_before = path.parent().find(before);
    const Json* parent_after = path.parent().find(after);
    PB_FUZZ_CHECK(parent_after != nullptr && parent_after->size() + 1 == parent_before->size(),
                  detail);
    if (parent_after->is_object()) {
      PB_FUZZ_CHECK(!parent_after->contains(path.tokens().back()), detail);
    }
  } else if (name == "test") {
    PB_FUZZ_CHECK(dump(before) == dump(after), detail);
    PB_FUZZ_CHECK(pb::json::equal(*path.find(before), op.at("value")), detail);
  } else {
    PB_FUZZ_CHECK(false, detail + "\nunknown operation " + name + " succeeded");
  }
}

// Applies `patch` to `doc` and checks the applier; returns the result when
// the whole patch applied.
std::optional<Json> check_apply(const Json& doc, const Json& patch, const std::string& detail) {
  Json ops = Json::array();
  for (std::size_t i = 0; i < patch.size() && i < kMaxOps; ++i) ops.push_back(patch[i]);

  Json cur = doc;
  std::optional<std::size_t> failed;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Json before = cur;
    const std::string op_detail = detail + "\noperation " + std::to_string(i) + " " +
                                  printable(dump(ops[i])) + "\nbefore " + printable(dump(before));
    try {
      pb::diff::apply_json_patch(cur, Json::array({ops[i]}));
    } catch (const std::runtime_error&) {
      PB_FUZZ_CHECK(dump(cur) == dump(before), op_detail + "\nchanged by a failed operation");
      failed = i;
      break;
    }
    check_effect(before, cur, ops[i], op_detail);
    if (dump(cur).size() > kMaxDocumentBytes) return std::nullopt;
  }

  Json whole = doc;
  try {
    pb::diff::apply_json_patch(whole, ops);
  } catch (const std::runtime_error& e) {
    PB_FUZZ_CHECK(failed.has_value(), detail + "\nwhole patch failed: " + e.what());
    const std::string expected = "JSON patch operation " + std::to_string(*failed) + ": ";
    PB_FUZZ_CHECK(std::string_view(e.what()).substr(0, expected.size()) == expected,
                  detail + "\n" + e.what());
    PB_FUZZ_CHECK(dump(whole) == dump(doc), detail + "\nchanged by a failed patch");
    return std::nullopt;
  }
  PB_FUZZ_CHECK(!failed.has_value(), detail + "\nwhole patch applied, operation " +
                                         std::to_string(failed.value_or(0)) + " alone did not");
  PB_FUZZ_CHECK(dump(whole) == dump(cur), detail);
  return whole;
}

// Members present in both keep `from`'s order, new members follow in `to`'s
// order; recursively wherever both sides are objects.
void check_member_order(const Json& from, const Json& to, const Json& result,
                        const std::string& detail) {
  if (!from.is_object() || !to.is_object() || !result.is_object()) return;
  std::vector<std::string> want;
  for (auto it = from.begin(); it != from.end(); ++it) {
    if (to.contains(it.key())) want.push_back(it.key());
  }
  for (auto it = to.begin(); it != to.end(); ++it) {
    if (!from.contains(it.key())) want.push_back(it.key());
  }
  std::vector<std::string> got;
  for (auto it = result.begin(); it != result.end(); ++it) got.push_back(it.key());
  PB_FUZZ_CHECK(got == want, detail + "\nresult " + printable(dump(result)));
  for (auto it = from.begin(); it != from.end(); ++it) {
    if (to.contains(it.key())) {
      check_member_order(it.value(), to.at(it.key()), result.at(it.key()), detail);
    }
  }
}

void number_tokens(const Json& v, std::set<std::string>& out) {
  if (pb::json::is_number(v)) out.insert(dump(v));
  if (v.is_object() || v.is_array()) {
    for (const auto& e : v) number_tokens(e, out);
  }
}

void check_diff(const Json& a, const Json& b, const std::string& key, const std::string& detail) {
  pb::diff::Options options;
  options.mode = pb::config::DiffMode::kJsonPatch;
  options.key = pb::diff::KeySpec::parse(key);
  const std::string at = detail + "\nkey " + printable(key) + "\nto " + printable(dump(b));
  const auto changes = pb::diff::compute(&a, b, options);
  if (pb::json::equal(a, b)) {
    PB_FUZZ_CHECK(changes.empty(), at + "\nan event for equal documents");
    return;
  }
  PB_FUZZ_CHECK(changes.size() == 1, at);
  // No event is larger than the snapshot it replaces (issue 13): past that
  // the differ sends the snapshot, which must be the new document.
  const std::size_t snapshot_bytes = pb::json::dumped_size(b);
  if (changes[0].type == "snapshot") {
    Json snap;
    try {
      snap = pb::json::parse(changes[0].data, kPatchDepth);
    } catch (const pb::json::ParseError& e) {
      PB_FUZZ_CHECK(false, at + "\nsnapshot is not JSON: " + e.what());
    }
    PB_FUZZ_CHECK(pb::json::equal(snap, b), at + "\nsnapshot " + printable(changes[0].data));
    return;
  }
  PB_FUZZ_CHECK(changes[0].type == "patch", at + "\ntype " + changes[0].type);
  PB_FUZZ_CHECK(changes[0].data.size() <= snapshot_bytes,
                at + "\npatch larger than the snapshot: " + printable(changes[0].data));
  Json patch;
  try {
    patch = pb::json::parse(changes[0].data, kPatchDepth);
  } catch (const pb::json::ParseError& e) {
    PB_FUZZ_CHECK(false, at + "\npatch is not JSON: " + e.what());
  }
  Json result = a;
  try {
    pb::diff::apply_json_patch(result, patch);
  } catch (const std::runtime_error& e) {
    PB_FUZZ_CHECK(false,
                  at + "\npatch " + printable(changes[0].data) + "\ndoes not apply: " + e.what());
  }
  PB_FUZZ_CHECK(pb::json::equal(result, b), at + "\npatch " + printable(changes[0].data) +
                                                "\ngives " + printable(dump(result)));
  check_member_order(a, b, result, at);
  std::set<std::string> known;
  number_tokens(a, known);
  number_tokens(b, known);
  std::set<std::string> used;
  number_tokens(result, used);
  for (const auto& n : used) PB_FUZZ_CHECK(known.count(n) == 1, at + "\nnumber " + n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = text.find('\0');
  const auto a = parse_or_nothing(text.substr(0, nul));
  if (!a) return 0;
  const std::string detail = "document " + printable(dump(*a));
  check_diff(*a, *a, "", detail);
  if (nul == std::string_view::npos) return 0;
  const auto b = parse_or_nothing(text.substr(nul + 1));
  if (!b) return 0;
  try {
    for (const char* key : {"", "id"}) check_diff(*a, *b, key, detail);
    if (b->is_array()) {
      if (auto patched = check_apply(*a, *b, detail + "\npatch " + printable(dump(*b)))) {
        for (const char* key : {"", "id"}) check_diff(*a, *patched, key, detail);
      }
    }
  } catch (const std::exception& e) {
    PB_FUZZ_CHECK(false, detail + "\nthrew " + e.what());
  }
  return 0;
}
