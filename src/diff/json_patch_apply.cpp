// apply_json_patch(): the strict RFC 6902 applier declared in json_patch.h.
#include <stdexcept>
#include <string>

#include "diff/json_patch.h"

namespace pb::diff {
namespace {

// A violated requirement of one operation; apply_json_patch() adds which.
class OpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

const Json& member(const Json& op, const char* name) {
  auto it = op.find(name);
  if (it == op.end()) throw OpError(std::string("missing member \"") + name + "\"");
  return *it;
}

const std::string& string_member(const Json& op, const char* name) {
  const Json& v = member(op, name);
  if (!v.is_string()) throw OpError(std::string("member \"") + name + "\" is not a string");
  return v.get_ref<const std::string&>();
}

json::Pointer pointer_member(const Json& op, const char* name) {
  const std::string& text = string_member(op, name);
  try {
    return json::Pointer::parse(text);
  } catch (const std::invalid_argument& e) {
    throw OpError(std::string("\"") + name + "\" is not a JSON pointer: " + e.what());
  }
}

Json& existing(Json& doc, const json::Pointer& path) {
  Json* v = path.find(doc);
  if (v == nullptr) throw OpError("no value at " + path.str());
  return *v;
}

Json& parent_container(Json& doc, const json::Pointer& path) {
  Json* parent = path.parent().find(doc);
  if (parent == nullptr) throw OpError("no value at " + path.parent().str());
  if (!parent->is_object() && !parent->is_array()) {
    throw OpError(path.parent().str() + " is neither an object nor an array");
  }
  return *parent;
}

void add(Json& doc, const json::Pointer& path, Json value) {
  if (path.is_root()) {
    doc = std::move(value);
    return;
  }
  Json& parent = parent_container(doc, path);
  const std::string& token = path.tokens().back();
  if (parent.is_object()) {
    parent[token] = std::move(value);  // an existing member keeps its place
    return;
  }
  if (token == "-") {
    parent.push_back(std::move(value));
    return;
  }
  auto index = json::parse_index(token);
  if (!index || *index > parent.size()) throw OpError("bad array index in " + path.str());
  parent.insert(parent.begin() + static_cast<Json::difference_type>(*index), std::move(value));
}

Json remove(Json& doc, const json::Pointer& path) {
  if (path.is_root()) throw OpError("cannot remove the whole document");
  Json& parent = parent_container(doc, path);
  const std::string& token = path.tokens().back();
  if (parent.is_object()) {
    auto it = parent.find(token);
    if (it == parent.end()) throw OpError("no value at " + path.str());
    Json value = std::move(*it);
    parent.erase(it);
    return value;
  }
  auto index = json::parse_index(token);
  if (!index || *index >= parent.size()) throw OpError("no value at " + path.str());
  Json value = std::move(parent[*index]);
  parent.erase(*index);
  return value;
}

void apply_op(Json& doc, const Json& op) {
  if (!op.is_object()) throw OpError("not an object");
  const std::string& name = string_member(op, "op");
  const json::Pointer path = pointer_member(op, "path");
  if (name == "add") {
    add(doc, path, member(op, "value"));
  } else if (name == "remove") {
    remove(doc, path);
  } else if (name == "replace") {
    existing(doc, path) = member(op, "value");
  } else if (name == "move") {
    const json::Pointer from = pointer_member(op, "from");
    if (from == path) {
      existing(doc, from);
      return;
    }
    if (from.is_prefix_of(path)) throw OpError("cannot move a value into itself");
    add(doc, path, remove(doc, from));
  } else if (name == "copy") {
    add(doc, path, existing(doc, pointer_member(op, "from")));
  } else if (name == "test") {
    if (!json::equal(existing(doc, path), member(op, "value"))) {
      throw OpError("test failed at " + path.str());
    }
  } else {
    throw OpError("unknown op \"" + name + "\"");
  }
}

}  // namespace

void apply_json_patch(Json& doc, const Json& patch) {
  if (!patch.is_array()) throw std::runtime_error("a JSON patch must be an array");
  // Applied to a copy so that a failing operation leaves `doc` untouched
  // (RFC 6902: the patch applies as a whole or not at all).
  Json result = doc;
  for (std::size_t i = 0; i < patch.size(); ++i) {
    try {
      apply_op(result, patch[i]);
    } catch (const OpError& e) {
      throw std::runtime_error("JSON patch operation " + std::to_string(i) + ": " + e.what());
    }
  }
  doc = std::move(result);
}

}  // namespace pb::diff
