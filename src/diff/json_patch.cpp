#include "diff/json_patch.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "diff/sequence.h"
#include "json/members.h"

namespace pb::diff {
namespace {

constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

// Appends one reference token to a path for as long as it lives. The patch
// builder keeps one path buffer: a path copied per member would cost the
// path's length for every member, quadratic under a long member name.
class Segment {
 public:
  Segment(std::string& path, std::string_view name) : path_(path), size_(path.size()) {
    path_.push_back('/');
    path_ += json::Pointer::escape(name);
  }
  Segment(std::string& path, std::size_t index) : path_(path), size_(path.size()) {
    path_.push_back('/');
    path_ += std::to_string(index);
  }
  ~Segment() { path_.resize(size_); }
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

 private:
  std::string& path_;
  std::size_t size_;
};

// The keys of a keyed array, or nullopt if some element is not an object
// with a usable key, or two elements share a key.
struct KeyedArray {
  std::vector<std::string> keys;
  std::unordered_map<std::string, std::size_t> position;
};

std::optional<KeyedArray> index_keyed(const Json& array, const KeySpec& key) {
  KeyedArray out;
  out.keys.reserve(array.size());
  out.position.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_object()) return std::nullopt;
    auto k = key.of(array[i]);
    if (!k || !out.position.emplace(*k, i).second) return std::nullopt;
    out.keys.push_back(std::move(*k));
  }
  return out;
}

// Fenwick tree counting occupied slots by rank.
class OccupiedSlots {
 public:
  explicit OccupiedSlots(std::size_t n) : tree_(n + 1, 0) {}
  void add(std::size_t rank, long delta) {
    for (std::size_t i = rank + 1; i < tree_.size(); i += i & (~i + 1)) tree_[i] += delta;
  }
  // Number of occupied slots ranked below `rank`: the array index of a value
  // in that slot.
  std::size_t before(std::size_t rank) const {
    long sum = 0;
    for (std::size_t i = rank; i > 0; i -= i & (~i + 1)) sum += tree_[i];
    return static_cast<std::size_t>(sum);
  }

 private:
  std::vector<long> tree_;
};

// What a keyed array diff has decided once deletions are done: the survivors
// (in old order) and, for each target position, where its element comes from.
struct KeyedPlan {
  std::size_t survivors = 0;               // elements kept, after deletions
  std::vector<std::size_t> survivor_rank;  // old index -> place among survivors
  std::vector<std::size_t> source;         // target index -> old index or kNone
  std::vector<bool> stays;                 // target index -> in the LIS, not moved
};

class PatchBuilder {
 public:
  PatchBuilder(const KeySpec& key, PatchBudget& budget) : key_(key), budget_(budget) {
    out_.push_back('[');
  }

  // Diffs a into b at path_.
  void diff(const Json& a, const Json& b, std::size_t depth) {
    if (over_ || json::equal(a, b)) return;
    // Past the nesting limit nothing is recursed into; a replace is correct.
    if (depth < json::kMaxDepth && a.is_object() && b.is_object()) {
      diff_object(a, b, depth);
    } else if (depth < json::kMaxDepth && a.is_array() && b.is_array()) {
      if (key_.empty() || !diff_keyed(a, b, depth)) diff_positional(a, b, depth);
    } else {
      emit("replace", b);
    }
  }

  // The patch text, or nullopt if it outgrew the byte budget.
  std::optional<std::string> take() {
    if (over_) return std::nullopt;
    out_.push_back(']');
    return std::move(out_);
  }

 private:
  // Each operation is written as compact JSON in the member order
  // {"op","path"[,"value"]} or {"op","from","path"}.
  void begin_op(const char* op) {
    if (out_.size() > 1) out_.push_back(',');
    out_ += "{\"op\":\"";
    out_ += op;
    out_ += '"';
  }
  void member(const char* name, const std::string& pointer) {
    out_ += ",\"";
    out_ += name;
    out_ += "\":";
    json::dump_to(out_, Json(pointer));
  }
  void end_op() {
    out_.push_back('}');
    // +1 for the closing bracket.
    if (out_.size() + 1 > budget_.bytes) {
      over_ = true;
      out_.clear();
      out_.shrink_to_fit();
    }
  }
  // Operations at path_.
  void emit(const char* op) {
    if (over_) return;
    begin_op(op);
    member("path", path_);
    end_op();
  }
  void emit(const char* op, const Json& value) {
    if (over_) return;
    // A value that alone is past the budget is not even written.
    if (budget_.bytes != PatchBudget().bytes &&
        out_.size() + json::dumped_size(value) > budget_.bytes) {
      over_ = true;
      out_.clear();
      out_.shrink_to_fit();
      return;
    }
    begin_op(op);
    member("path", path_);
    out_ += ",\"value\":";
    json::dump_to(out_, value);
    end_op();
  }
  // A move between two indexes of the array at path_.
  void emit_move(std::size_t from, std::size_t to) {
    if (over_) return;
    begin_op("move");
    {
      Segment s(path_, from);
      member("from", path_);
    }
    Segment s(path_, to);
    member("path", path_);
    end_op();
  }

  void diff_object(const Json& a, const Json& b, std::size_t depth) {
    const json::MemberIndex in_a(a);
    const json::MemberIndex in_b(b);
    for (auto it = a.begin(); it != a.end() && !over_; ++it) {
      if (in_b.contains(it.key())) continue;
      Segment s(path_, it.key());
      emit("remove");
    }
    for (auto it = a.begin(); it != a.end() && !over_; ++it) {
      const Json* other = in_b.find(it.key());
      if (other == nullptr) continue;
      Segment s(path_, it.key());
      diff(it.value(), *other, depth + 1);
    }
    for (auto it = b.begin(); it != b.end() && !over_; ++it) {
      if (in_a.contains(it.key())) continue;
      Segment s(path_, it.key());
      emit("add", it.value());
    }
  }

  // Identity diff; false (nothing emitted) if the arrays are not keyed.
  bool diff_keyed(const Json& a, const Json& b, std::size_t depth) {
    auto old_keys = index_keyed(a, key_);
    if (!old_keys) return false;
    auto new_keys = index_keyed(b, key_);
    if (!new_keys) return false;

    // Deletions, highest index first so that the lower indexes stay valid.
    for (std::size_t i = a.size(); i-- > 0 && !over_;) {
      if (new_keys->position.count(old_keys->keys[i]) != 0) continue;
      Segment s(path_, i);
      emit("remove");
    }
    KeyedPlan plan;
    plan.survivor_rank.assign(a.size(), kNone);
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (new_keys->position.count(old_keys->keys[i]) != 0)
        plan.survivor_rank[i] = plan.survivors++;
    }
    // The survivors that already are in target order (a longest increasing
    // subsequence of their current places) stay; the others move.
    plan.source.assign(b.size(), kNone);
    plan.stays.assign(b.size(), false);
    std::vector<std::size_t> places;
    std::vector<std::size_t> targets;
    for (std::size_t j = 0; j < b.size(); ++j) {
      auto it = old_keys->position.find(new_keys->keys[j]);
      if (it == old_keys->position.end()) continue;
      plan.source[j] = it->second;
      places.push_back(plan.survivor_rank[it->second]);
      targets.push_back(j);
    }
    for (std::size_t p : longest_increasing_subsequence(places)) plan.stays[targets[p]] = true;

    place_keyed(b, plan);
    for (std::size_t j = 0; j < b.size() && !over_; ++j) {
      if (plan.source[j] == kNone) continue;
      Segment s(path_, j);
      diff(a[plan.source[j]], b[j], depth + 1);
    }
    return true;
  }

  // Moves and adds, target positions ascending, each element right after its
  // target predecessor. Invariant: the elements placed so far together with
  // the staying ones are in target order, so at the end (every non-staying
  // element placed) the array is in target order.
  //
  // Indexes come from a linked list of slots built in advance: one slot per
  // survivor at its current place, and one per moved or added element,
  // linked right after its predecessor's slot. Relative slot order never
  // changes, so a slot's rank in the final list orders it against every other
  // slot at every step, and a Fenwick tree of occupied slots turns ranks into
  // array indexes: O(n log n) for any shuffle.
  void place_keyed(const Json& b, const KeyedPlan& plan) {
    // Node 0 is the list head; nodes 1..survivors are the survivors' slots.
    std::vector<std::size_t> next(plan.survivors + 1);
    for (std::size_t n = 0; n < plan.survivors; ++n) next[n] = n + 1;
    next[plan.survivors] = kNone;
    std::vector<std::size_t> node_of(b.size());
    for (std::size_t j = 0; j < b.size(); ++j) {
      if (plan.stays[j]) {
        node_of[j] = 1 + plan.survivor_rank[plan.source[j]];
        continue;
      }
      const std::size_t after = j == 0 ? 0 : node_of[j - 1];
      node_of[j] = next.size();
      next.push_back(next[after]);
      next[after] = node_of[j];
    }
    std::vector<std::size_t> rank(next.size(), kNone);
    std::size_t ranks = 0;
    for (std::size_t n = next[0]; n != kNone; n = next[n]) rank[n] = ranks++;

    OccupiedSlots occupied(ranks);
    for (std::size_t n = 1; n <= plan.survivors; ++n) occupied.add(rank[n], 1);
    for (std::size_t j = 0; j < b.size() && !over_; ++j) {
      if (plan.stays[j]) continue;
      const std::size_t to_rank = rank[node_of[j]];
      if (plan.source[j] == kNone) {
        Segment s(path_, occupied.before(to_rank));
        emit("add", b[j]);
        occupied.add(to_rank, 1);
        continue;
      }
      // RFC 6902 move: the target index is read after the removal.
      const std::size_t from_rank = rank[1 + plan.survivor_rank[plan.source[j]]];
      const std::size_t from = occupied.before(from_rank);
      occupied.add(from_rank, -1);
      const std::size_t to = occupied.before(to_rank);
      occupied.add(to_rank, 1);
      if (from != to) emit_move(from, to);
    }
  }

  // Positional diff: common prefix and suffix are kept, the middle is aligned
  // with an LCS of element identities (or position by position when too
  // large); within each gap between kept elements, old and new elements are
  // paired and diffed, the surplus removed or added.
  void diff_positional(const Json& a, const Json& b, std::size_t depth) {
    const std::size_t n = a.size();
    const std::size_t m = b.size();
    std::size_t head = 0;
    while (head < n && head < m && json::equal(a[head], b[head])) ++head;
    std::size_t tail = 0;
    while (tail < n - head && tail < m - head && json::equal(a[n - 1 - tail], b[m - 1 - tail])) {
      ++tail;
    }
    const std::size_t la = n - head - tail;
    const std::size_t lb = m - head - tail;
    std::vector<std::pair<std::size_t, std::size_t>> kept;
    if (la > 0 && lb > 0) {
      const std::size_t cells = la * lb;
      if (cells > kMaxLcsCells || cells > budget_.lcs_cells) {
        // Too large to align (or this diff has aligned enough): one replace,
        // instead of a quadratic alignment or an element-by-element diff
        // whose size nobody could predict.
        emit("replace", b);
        return;
      }
      budget_.lcs_cells -= cells;
      kept = common_elements(a, b, head, la, lb);
    }
    kept.emplace_back(la, lb);  // closes the last gap

    std::size_t at = head;  // index in the array as patched so far
    std::size_t i = 0;
    std::size_t j = 0;
    for (const auto& [ki, kj] : kept) {
      emit_gap(a, b, head + i, head + j, ki - i, kj - j, at, depth);
      at += kj - j + 1;
      i = ki + 1;
      j = kj + 1;
    }
  }

  static std::vector<std::pair<std::size_t, std::size_t>> common_elements(
      const Json& a, const Json& b, std::size_t head, std::size_t la, std::size_t lb) {
    std::unordered_map<std::string, std::size_t> ids;
    auto id = [&ids](const Json& v) {
      return ids.emplace(json::identity(v), ids.size()).first->second;
    };
    std::vector<std::size_t> ia(la);
    std::vector<std::size_t> ib(lb);
    for (std::size_t i = 0; i < la; ++i) ia[i] = id(a[head + i]);
    for (std::size_t j = 0; j < lb; ++j) ib[j] = id(b[head + j]);
    return longest_common_subsequence(ia, ib);
  }

  // Old a[ai, ai+k) become new b[bj, bj+l), starting at index `at`.
  void emit_gap(const Json& a, const Json& b, std::size_t ai, std::size_t bj, std::size_t k,
                std::size_t l, std::size_t at, std::size_t depth) {
    const std::size_t paired = std::min(k, l);
    for (std::size_t t = 0; t < paired && !over_; ++t) {
      Segment s(path_, at + t);
      diff(a[ai + t], b[bj + t], depth + 1);
    }
    for (std::size_t t = k; t-- > paired && !over_;) {
      Segment s(path_, at + t);
      emit("remove");
    }
    for (std::size_t t = paired; t < l && !over_; ++t) {
      Segment s(path_, at + t);
      emit("add", b[bj + t]);
    }
  }

  const KeySpec& key_;
  PatchBudget& budget_;
  std::string path_;  // the JSON pointer of the values being diffed
  std::string out_;
  bool over_ = false;
};

}  // namespace

std::optional<std::string> json_patch_text(const Json& from, const Json& to, const KeySpec& key,
                                           PatchBudget& budget) {
  PatchBuilder builder(key, budget);
  builder.diff(from, to, 0);
  return builder.take();
}

Json json_patch(const Json& from, const Json& to, const KeySpec& key) {
  PatchBudget unlimited;
  // The operations sit two levels below the values they carry.
  return json::parse(*json_patch_text(from, to, key, unlimited), json::kMaxDepth + 2);
}

}  // namespace pb::diff
