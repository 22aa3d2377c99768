#include "json/pointer.h"

#include <stdexcept>

namespace pb::json {

Pointer Pointer::parse(std::string_view text) {
  Pointer p;
  if (text.empty()) return p;
  if (text[0] != '/') {
    throw std::invalid_argument("a JSON pointer must be empty or start with '/'");
  }
  std::string token;
  for (std::size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '/') {
      p.tokens_.push_back(std::move(token));
      token.clear();
      continue;
    }
    if (text[i] == '~') {
      if (i + 1 < text.size() && (text[i + 1] == '0' || text[i + 1] == '1')) {
        token.push_back(text[i + 1] == '0' ? '~' : '/');
        ++i;
        continue;
      }
      throw std::invalid_argument("'~' in a JSON pointer must be followed by 0 or 1");
    }
    token.push_back(text[i]);
  }
  return p;
}

std::string Pointer::escape(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Pointer::str() const {
  std::string out;
  for (const auto& t : tokens_) {
    out.push_back('/');
    out += escape(t);
  }
  return out;
}

Pointer Pointer::child(std::string token) const {
  Pointer p = *this;
  p.tokens_.push_back(std::move(token));
  return p;
}

Pointer Pointer::child(std::size_t index) const {
  return child(std::to_string(index));
}

Pointer Pointer::parent() const {
  Pointer p = *this;
  if (!p.tokens_.empty()) p.tokens_.pop_back();
  return p;
}

bool Pointer::is_prefix_of(const Pointer& other) const {
  if (tokens_.size() > other.tokens_.size()) return false;
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i] != other.tokens_[i]) return false;
  }
  return true;
}

std::optional<std::size_t> parse_index(std::string_view t) {
  if (t.empty() || t.size() > 18) return std::nullopt;
  if (t.size() > 1 && t[0] == '0') return std::nullopt;
  std::size_t v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  return v;
}

const Json* Pointer::find(const Json& doc) const {
  const Json* cur = &doc;
  for (const auto& t : tokens_) {
    if (cur->is_object()) {
      auto it = cur->find(t);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array()) {
      auto idx = parse_index(t);
      if (!idx || *idx >= cur->size()) return nullptr;
      cur = &(*cur)[*idx];
    } else {
      return nullptr;
    }
  }
  return cur;
}

Json* Pointer::find(Json& doc) const {
  return const_cast<Json*>(find(static_cast<const Json&>(doc)));
}

bool Pointer::remove(Json& doc) const {
  if (tokens_.empty()) return false;
  Json* parent_value = parent().find(doc);
  if (parent_value == nullptr) return false;
  const std::string& last = tokens_.back();
  if (parent_value->is_object()) {
    return parent_value->erase(last) > 0;
  }
  if (parent_value->is_array()) {
    auto idx = parse_index(last);
    if (!idx || *idx >= parent_value->size()) return false;
    parent_value->erase(*idx);
    return true;
  }
  return false;
}

}  // namespace pb::json
