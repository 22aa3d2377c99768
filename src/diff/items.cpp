#include "diff/items.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>

#include "diff/json_patch.h"

namespace pb::diff {
namespace {

const char* type_name(const Json& v) {
  if (json::is_number(v)) return "number";
  switch (v.type()) {
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::null:
      return "null";
    default:
      return "value";
  }
}

// Key identity -> index, for an array that passes check_items().
std::unordered_map<std::string, std::size_t> index_items(const Json& doc, const KeySpec& key,
                                                         const char* which) {
  if (key.empty()) throw DiffError("items mode needs a key");
  if (!doc.is_array()) {
    throw DiffError(std::string(which) + "items mode needs an array, got " + type_name(doc));
  }
  std::unordered_map<std::string, std::size_t> out;
  out.reserve(doc.size());
  for (std::size_t i = 0; i < doc.size(); ++i) {
    auto k = key.of(doc[i]);
    const std::string where = std::string(which) + "element " + std::to_string(i);
    if (!k) throw DiffError(where + " has no key \"" + key.pointer.str() + "\"");
    auto [it, fresh] = out.emplace(std::move(*k), i);
    if (!fresh) {
      throw DiffError(where + " has the same key \"" + key.pointer.str() + "\" as element " +
                      std::to_string(it->second) + ": " + json::dump(*key.pointer.find(doc[i])));
    }
  }
  return out;
}

Json key_value(const Json& element, const KeySpec& key) {
  return *key.pointer.find(element);
}

}  // namespace

void check_items(const Json& doc, const KeySpec& key) {
  index_items(doc, key, "");
}

std::optional<std::vector<Change>> diff_items(const Json& before, const Json& after,
                                              const KeySpec& key, PatchBudget& budget) {
  // An invalid old document is a caller bug (it was checked when it was new),
  // but say so clearly rather than emit nonsense.
  const auto old_index = index_items(before, key, "previous document: ");
  const auto new_index = index_items(after, key, "");
  std::vector<Change> out;
  // Every event's data is paid for from budget.bytes as it is made; the
  // diff stops as soon as they would not fit.
  auto spend = [&budget](std::size_t n) {
    if (n > budget.bytes) return false;
    budget.bytes -= n;
    return true;
  };
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (new_index.count(*key.of(before[i])) != 0) continue;
    Json data = Json::object();
    data["key"] = key_value(before[i], key);
    out.push_back({"deleted", json::dump(data)});
    if (!spend(out.back().data.size())) return std::nullopt;
  }
  for (std::size_t j = 0; j < after.size(); ++j) {
    auto old = old_index.find(*key.of(after[j]));
    const bool existed = old != old_index.end();
    if (existed && json::equal(before[old->second], after[j])) continue;
    Json data = Json::object();
    data["key"] = key_value(after[j], key);
    data["index"] = j;
    data["value"] = after[j];
    std::string text = json::dump(data);
    const std::size_t value_bytes = text.size();
    if (!spend(value_bytes)) return std::nullopt;
    if (existed) {
      // The patch is spliced in as text: `data` ends with its closing brace.
      // It may take what is left of the budget (json_patch_text stops past
      // that), and is paid for with the member name around it.
      auto patch = json_patch_text(before[old->second], after[j], key, budget);
      if (!patch) return std::nullopt;
      text.pop_back();
      text += ",\"patch\":";
      text += *patch;
      text.push_back('}');
      if (!spend(text.size() - value_bytes)) return std::nullopt;
    }
    out.push_back({existed ? "updated" : "created", std::move(text)});
  }
  return out;
}

std::vector<Change> diff_items(const Json& before, const Json& after, const KeySpec& key) {
  PatchBudget unlimited;
  return *diff_items(before, after, key, unlimited);
}

}  // namespace pb::diff
