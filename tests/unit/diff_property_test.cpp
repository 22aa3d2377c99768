// Randomized round trips: for thousands of random document pairs (nested
// objects, escaped names, raw numbers, keyed and unkeyed arrays), every diff
// mode's output must rebuild the new document from the old one.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>

#include "diff/items.h"
#include "diff/json_patch.h"
#include "diff/merge_patch.h"
#include "json/document.h"
#include "support/file_local.h"

namespace pb::diff {
namespace PB_FILE_LOCAL {

using json::dump;
using json::equal;
using json::parse;

constexpr int kPairs = 3000;

class Generator {
 public:
  explicit Generator(unsigned seed) : rng_(seed) {}

  int pick(int n) { return static_cast<int>(rng_() % static_cast<unsigned>(n)); }
  bool chance(int percent) { return pick(100) < percent; }

  Json scalar() {
    static const char* const kNumbers[] = {
        "1.10", "1.1", "2.5e3", "-0.0", "0", "123456789012345678901", "-7", "1E2", "100"};
    static const char* const kStrings[] = {"", "x", "a/b", "m~n", "~1", "\u00e9", "line\nbreak"};
    switch (pick(5)) {
      case 0:
        return nullptr;
      case 1:
        return chance(50);
      case 2:
        return parse(kNumbers[pick(9)]);
      case 3:
        return pick(20) - 5;
      default:
        return kStrings[pick(7)];
    }
  }

  Json value(int depth) {
    if (depth >= 4) return scalar();
    switch (pick(6)) {
      case 0:
        return object(depth);
      case 1:
        return keyed_array(depth);
      case 2:
        return plain_array(depth);
      default:
        return scalar();
    }
  }

  Json object(int depth) {
    static const char* const kNames[] = {"a", "b", "a/b", "m~n", "", "~", "c", "id"};
    Json out = Json::object();
    for (int n = pick(5); n > 0; --n) out[kNames[pick(8)]] = value(depth + 1);
    return out;
  }

  Json element(int depth, const Json& id) {
    Json e = chance(30) ? Json::object() : object(depth);
    e["id"] = id;
    return e;
  }

  // Keys drawn without repetition from a pool where 1, "1" and 1.0 do not
  // collide except 1 with 1.0 (which is why 1.0 is not in it).
  Json keyed_array(int depth) {
    std::vector<Json> ids;
    for (int i = 0; i < 8; ++i) ids.emplace_back(i);
    for (const char* s : {"1", "x", "a/b"}) ids.emplace_back(s);
    ids.push_back(parse("2.5"));
    std::shuffle(ids.begin(), ids.end(), rng_);
    Json out = Json::array();
    for (int n = pick(8); n > 0; --n)
      out.push_back(element(depth + 1, ids[static_cast<std::size_t>(n)]));
    return out;
  }

  Json plain_array(int depth) {
    Json out = Json::array();
    for (int n = pick(7); n > 0; --n) out.push_back(chance(60) ? Json(pick(4)) : value(depth + 1));
    return out;
  }

  // A changed copy: edits sprinkled through the document, fresh member names
  // and fresh keys for additions.
  Json mutate(const Json& v, int depth) {
    if (chance(depth == 0 ? 5 : 10)) return value(depth);
    if (v.is_object()) return mutate_object(v, depth);
    if (v.is_array()) return is_keyed(v) ? mutate_keyed(v, depth) : mutate_plain(v, depth);
    return v;
  }

  static bool is_keyed(const Json& v) {
    return !v.empty() && std::all_of(v.begin(), v.end(), [](const Json& e) {
      return e.is_object() && e.contains("id");
    });
  }

  Json mutate_object(const Json& v, int depth) {
    Json out = Json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (chance(15) && it.key() != "id") continue;
      out[it.key()] = chance(40) && it.key() != "id" ? mutate(it.value(), depth + 1) : it.value();
    }
    if (chance(25)) out["new/" + std::to_string(fresh_++)] = value(depth + 1);
    return out;
  }

  Json mutate_keyed(const Json& v, int depth) {
    Json out = v;
    for (int n = pick(4); n > 0; --n) {
      const std::size_t at = static_cast<std::size_t>(pick(static_cast<int>(out.size()) + 1));
      switch (pick(5)) {
        case 0:
          if (at < out.size()) out.erase(at);
          break;
        case 1:
          out.insert(out.begin() + static_cast<long>(at),
                     element(depth + 1, "k" + std::to_string(fresh_++)));
          break;
        case 2:
          if (at < out.size()) {
            Json moved = out[at];
            out.erase(at);
            out.insert(out.begin() + pick(static_cast<int>(out.size()) + 1), moved);
          }
          break;
        case 3:
          if (at < out.size()) out[at] = mutate_object(out[at], depth + 1);
          break;
        default:
          std::shuffle(out.begin(), out.end(), rng_);
      }
    }
    return out;
  }

  Json mutate_plain(const Json& v, int depth) {
    Json out = v;
    for (int n = pick(4); n > 0; --n) {
      const std::size_t at = static_cast<std::size_t>(pick(static_cast<int>(out.size()) + 1));
      switch (pick(5)) {
        case 0:
          if (at < out.size()) out.erase(at);
          break;
        case 1:
          out.insert(out.begin() + static_cast<long>(at), value(depth + 1));
          break;
        case 2:
          if (at < out.size()) out[at] = mutate(out[at], depth + 1);
          break;
        case 3:
          std::reverse(out.begin(), out.end());
          break;
        default:
          std::shuffle(out.begin(), out.end(), rng_);
      }
    }
    return out;
  }

  // A pair: mostly a document and an edited copy, sometimes two unrelated
  // documents. Both go through their wire text, as upstream bodies do.
  std::pair<Json, Json> pair() {
    Json from = value(0);
    Json to = chance(10) ? value(0) : mutate(from, 0);
    return {parse(dump(from)), parse(dump(to))};
  }

  std::pair<Json, Json> keyed_pair() {
    Json from = keyed_array(0);
    Json to = mutate_keyed(from, 0);
    return {parse(dump(from)), parse(dump(to))};
  }

 private:
  std::mt19937 rng_;
  int fresh_ = 0;
};

TEST(JsonPatchPropertyTest, RandomPairsRoundTripThroughBothAppliers) {
  Generator gen(20240601);
  const KeySpec key = KeySpec::parse("id");
  std::map<std::string, int> ops_seen;
  for (int i = 0; i < kPairs; ++i) {
    auto [from, to] = gen.pair();
    for (const KeySpec& k : {key, KeySpec()}) {
      const Json patch = json_patch(from, to, k);
      const std::string where = "pair " + std::to_string(i) + "\nfrom " + dump(from) + "\nto   " +
                                dump(to) + "\npatch " + dump(patch);
      Json mine = from;
      ASSERT_NO_THROW(apply_json_patch(mine, parse(dump(patch)))) << where;
      ASSERT_TRUE(equal(mine, to)) << where << "\ngave " << dump(mine);
      Json theirs;
      ASSERT_NO_THROW(theirs = from.patch(patch)) << where;
      ASSERT_EQ(dump(theirs), dump(mine)) << where;
      if (equal(from, to)) {
        ASSERT_TRUE(patch.empty()) << where;
      }
      for (const auto& op : patch) ++ops_seen[op["op"].get<std::string>()];
    }
  }
  // The generator must exercise every kind of operation the differ emits.
  for (const char* op : {"add", "remove", "replace", "move"}) EXPECT_GT(ops_seen[op], 100) << op;
}

TEST(JsonPatchPropertyTest, RandomKeyedArraysNeedAtMostOneOpPerChangedElement) {
  Generator gen(77);
  const KeySpec key = KeySpec::parse("id");
  for (int i = 0; i < kPairs; ++i) {
    auto [from, to] = gen.keyed_pair();
    const Json patch = json_patch(from, to, key);
    Json mine = from;
    apply_json_patch(mine, patch);
    ASSERT_TRUE(equal(mine, to)) << dump(from) << "\n" << dump(to) << "\n" << dump(patch);
    ASSERT_EQ(dump(from.patch(patch)), dump(mine));
    // Top-level ops (path "/N") never exceed the number of elements touched.
    std::size_t top = 0;
    for (const auto& op : patch) {
      if (op["path"].get<std::string>().find('/', 1) == std::string::npos) ++top;
    }
    ASSERT_LE(top, from.size() + to.size()) << dump(patch);
  }
}

TEST(MergePatchPropertyTest, RandomPairsRoundTripOrFallBack) {
  Generator gen(99);
  int expressed = 0;
  for (int i = 0; i < kPairs; ++i) {
    auto [from, to] = gen.pair();
    const auto patch = try_merge_patch(from, to);
    if (!patch) {
      // Only a null that the patch would carry can make it impossible.
      EXPECT_NE(dump(to).find("null"), std::string::npos) << dump(to);
      continue;
    }
    ++expressed;
    Json result = from;
    apply_merge_patch(result, parse(dump(*patch)));
    ASSERT_TRUE(equal(result, to)) << dump(from) << "\n" << dump(to) << "\n" << dump(*patch);
  }
  EXPECT_GT(expressed, kPairs / 2);
}

TEST(ItemsPropertyTest, EventsRebuildTheNewArray) {
  Generator gen(5);
  const KeySpec key = KeySpec::parse("id");
  for (int i = 0; i < kPairs; ++i) {
    auto [from, to] = gen.keyed_pair();
    std::map<std::string, Json> live;
    for (const auto& e : from) live[*key.of(e)] = e;
    for (const auto& change : diff_items(from, to, key)) {
      const Json data = parse(change.data);
      const Json probe = Json::object({{"id", data["key"]}});
      const std::string k = *key.of(probe);
      if (change.type == "deleted") {
        ASSERT_EQ(live.erase(k), 1u);
      } else if (change.type == "created") {
        ASSERT_EQ(live.count(k), 0u);
        live[k] = data["value"];
      } else {
        ASSERT_EQ(change.type, "updated");
        Json element = live.at(k);
        apply_json_patch(element, data["patch"]);
        ASSERT_TRUE(equal(element, data["value"]));
        live[k] = element;
      }
      if (change.type != "deleted") {
        ASSERT_TRUE(equal(to[data["index"].get<std::size_t>()], data["value"]));
      }
    }
    ASSERT_EQ(live.size(), to.size());
    for (const auto& e : to) ASSERT_TRUE(equal(live.at(*key.of(e)), e)) << dump(e);
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::diff
