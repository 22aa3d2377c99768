// RFC 6901 JSON Pointers over pb::json::Json.
//
// Pure; callable from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json/document.h"

namespace pb::json {

class Pointer {
 public:
  Pointer() = default;  // the whole document ("")

  // Parses "" or "/a/b~1c/0". Throws std::invalid_argument with a reason for
  // text that is not a pointer (missing leading '/', bad '~' escape).
  static Pointer parse(std::string_view text);

  // Escapes one reference token: '~' -> "~0", '/' -> "~1".
  static std::string escape(std::string_view token);

  const std::vector<std::string>& tokens() const { return tokens_; }
  bool is_root() const { return tokens_.empty(); }
  std::string str() const;

  Pointer child(std::string token) const;
  Pointer child(std::size_t index) const;
  Pointer parent() const;  // the root's parent is the root

  // Resolves against a document; nullptr if any step is missing. Array steps
  // must be canonical indexes ("0", "12"; not "01", not "-").
  const Json* find(const Json& doc) const;
  Json* find(Json& doc) const;

  // Removes the referenced value; false if it does not exist. Removing the
  // root is refused (returns false).
  bool remove(Json& doc) const;

  bool operator==(const Pointer& o) const { return tokens_ == o.tokens_; }
  // True if this pointer equals `other` or is an ancestor of it.
  bool is_prefix_of(const Pointer& other) const;

 private:
  std::vector<std::string> tokens_;
};

// Parses a canonical RFC 6901 array index ("0" or no leading zero).
std::optional<std::size_t> parse_index(std::string_view token);

}  // namespace pb::json
