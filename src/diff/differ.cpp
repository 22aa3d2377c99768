#include "diff/differ.h"

#include "diff/items.h"
#include "diff/json_patch.h"
#include "diff/merge_patch.h"

namespace pb::diff {

KeySpec KeySpec::parse(const std::string& text) {
  KeySpec spec;
  if (text.empty()) return spec;
  if (text[0] != '/') {
    // A member name, taken literally ("a/b" is the member "a/b").
    spec.pointer = json::Pointer().child(text);
    return spec;
  }
  try {
    spec.pointer = json::Pointer::parse(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("key \"" + text + "\": " + e.what());
  }
  return spec;
}

std::optional<std::string> KeySpec::of(const Json& element) const {
  if (empty()) return std::nullopt;
  const Json* v = pointer.find(element);
  if (v == nullptr || !(v->is_string() || json::is_number(*v))) return std::nullopt;
  return json::identity(*v);
}

std::string snapshot_data(const Json& doc, config::DiffMode mode) {
  if (mode == config::DiffMode::kText && doc.is_string()) {
    return doc.get_ref<const std::string&>();
  }
  return json::dump(doc);
}

std::size_t items_event_budget(std::size_t snapshot_bytes) {
  if (snapshot_bytes >
      (static_cast<std::size_t>(-1) - kItemsEventAllowance) / kItemsEventDocumentMultiple) {
    return static_cast<std::size_t>(-1);
  }
  return snapshot_bytes * kItemsEventDocumentMultiple + kItemsEventAllowance;
}

std::vector<Change> compute(const Json* prev, const Json& next, const Options& options) {
  using config::DiffMode;
  if (options.mode == DiffMode::kItems) check_items(next, options.key);
  if (options.mode == DiffMode::kText && !next.is_string()) {
    throw DiffError("text mode needs the body as a JSON string");
  }
  if (prev == nullptr) return {{"snapshot", snapshot_data(next, options.mode)}};
  if (json::equal(*prev, next)) return {};
  // json-patch and merge-patch: no event is larger than the snapshot it
  // could be replaced by, which loses nothing. Items mode: its events carry
  // meaning a snapshot does not (a `created` is a new order), so they are
  // kept up to items_event_budget(). Past either bound the diff is given up
  // and the snapshot sent instead; this also bounds the memory and time a
  // diff may take (docs/protocol.md, "Event size").
  const std::size_t snapshot_bytes = json::dumped_size(next);
  PatchBudget budget;
  budget.bytes = snapshot_bytes;
  switch (options.mode) {
    case DiffMode::kJsonPatch:
      if (auto patch = json_patch_text(*prev, next, options.key, budget)) {
        return {{"patch", std::move(*patch)}};
      }
      break;
    case DiffMode::kMergePatch:
      // Without an exact merge patch (the new document has a null that a
      // merge patch would turn into a removal) the snapshot is sent too.
      if (auto patch = try_merge_patch(*prev, next)) {
        std::string text = json::dump(*patch);
        if (text.size() <= snapshot_bytes) return {{"merge-patch", std::move(text)}};
      }
      break;
    case DiffMode::kItems:
      budget.bytes = items_event_budget(snapshot_bytes);
      if (auto events = diff_items(*prev, next, options.key, budget)) {
        return std::move(*events);
      }
      break;
    case DiffMode::kSnapshot:
    case DiffMode::kText:
      break;
  }
  return {{"snapshot", snapshot_data(next, options.mode)}};
}

}  // namespace pb::diff
