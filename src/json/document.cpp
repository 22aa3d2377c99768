#include "json/document.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "json/members.h"

namespace pb::json {
namespace {

// Member buffers a thread keeps between parses (entries per depth; one
// entry is about 48 bytes): a parse then allocates nothing but the objects
// it returns. Larger buffers are freed after the parse.
constexpr std::size_t kRetainedMembers = 1 << 16;

// An open container. An object's members are collected in `members` and
// moved into it when it ends: appending to the object itself would look
// each name up (O(n^2) over an object) and copy every member whenever its
// vector grows.
struct Frame {
  Json* container = nullptr;
  MemberList members;
};

// The frames of the last parse on this thread, for reuse.
thread_local std::vector<Frame> spare_frames;

// SAX handler that builds an ordered_json, keeping non-integer numbers as raw
// tokens and refusing excessive nesting.
class Builder {
 public:
  // `negative_zeros`: the positions, among the number tokens of the text in
  // order, of the tokens spelled "-0" (see negative_zero_tokens).
  Builder(std::size_t max_depth, std::vector<std::size_t> negative_zeros)
      : max_depth_(max_depth),
        negative_zeros_(std::move(negative_zeros)),
        frames_(std::move(spare_frames)) {}
  ~Builder() {
    for (Frame& f : frames_) {
      f.members.clear();
      if (f.members.capacity() > kRetainedMembers) MemberList().swap(f.members);
    }
    spare_frames = std::move(frames_);
  }
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  bool null() { return put(Json(nullptr)); }
  bool boolean(bool v) { return put(Json(v)); }
  bool number_integer(Json::number_integer_t v) {
    // nlohmann hands "-0" over as the integer 0; keep its spelling.
    if (v == 0 && next_zero_ < negative_zeros_.size() && negative_zeros_[next_zero_] == numbers_) {
      ++next_zero_;
      ++numbers_;
      return put(raw_number("-0"));
    }
    ++numbers_;
    return put(Json(v));
  }
  bool number_unsigned(Json::number_unsigned_t v) {
    ++numbers_;
    return put(Json(v));
  }
  bool number_float(Json::number_float_t /*v*/, const std::string& text) {
    ++numbers_;
    return put(raw_number(text));
  }
  bool string(std::string& v) { return put(Json(std::move(v))); }
  bool binary(Json::binary_t& /*v*/) { return false; }  // not produced by JSON text
  bool start_object(std::size_t /*n*/) { return open(Json::object()); }
  bool key(std::string& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() {
    Frame& f = frames_[depth_ - 1];
    assign_members(*f.container, f.members);
    // Duplicate member names: the last one wins (what JSON.parse does), but
    // the member keeps its first position.
    merge_duplicate_members(*f.container);
    --depth_;
    return true;
  }
  bool start_array(std::size_t /*n*/) { return open(Json::array()); }
  bool end_array() {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) {
    error_ = ex.what();
    error_pos_ = position;
    return false;
  }

  Json take() { return std::move(root_); }
  const std::string& error() const { return error_; }
  std::size_t error_pos() const { return error_pos_; }

 private:
  // Inserts a value into the innermost open container (or as root) and
  // returns its address, which stays valid until that container gets its
  // next value.
  Json* insert(Json&& v) {
    if (depth_ == 0) {
      root_ = std::move(v);
      return &root_;
    }
    Frame& top = frames_[depth_ - 1];
    if (top.container->is_array()) {
      top.container->push_back(std::move(v));
      return &top.container->back();
    }
    top.members.emplace_back(std::move(key_), std::move(v));
    return &top.members.back().second;
  }
  bool put(Json&& v) {
    insert(std::move(v));
    return true;
  }
  bool open(Json&& v) {
    if (depth_ >= max_depth_) {
      error_ = "nesting deeper than " + std::to_string(max_depth_) + " levels";
      return false;
    }
    Json* container = insert(std::move(v));
    // Frames past depth_ are kept with their buffers, for the next container
    // at that depth.
    if (depth_ == frames_.size()) frames_.emplace_back();
    frames_[depth_].container = container;
    frames_[depth_].members.clear();
    ++depth_;
    return true;
  }

  std::size_t max_depth_;
  std::vector<std::size_t> negative_zeros_;
  std::size_t next_zero_ = 0;
  std::size_t numbers_ = 0;  // number tokens seen so far
  Json root_;
  std::vector<Frame> frames_;
  std::size_t depth_ = 0;  // open containers: frames_[0, depth_)
  std::string key_;
  std::string error_;
  std::size_t error_pos_ = 0;
};

void escape_string(std::string& out, std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

// Exact decimal normal form of a JSON number token: "-" if negative, the
// significant digits without leading/trailing zeros, "e" and the exponent of
// the last digit. Zero is "0" whatever its sign or form.
std::string canonical_text(std::string_view t) {
  std::size_t i = 0;
  bool neg = false;
  if (i < t.size() && t[i] == '-') {
    neg = true;
    ++i;
  }
  std::string digits;
  long long exp = 0;
  for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) digits.push_back(t[i]);
  if (i < t.size() && t[i] == '.') {
    for (++i; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) {
      digits.push_back(t[i]);
      --exp;
    }
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) eneg = t[i++] == '-';
    long long e = 0;
    for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) {
      // Saturate: exponents this large are beyond any real document.
      if (e < 1000000000000LL) e = e * 10 + (t[i] - '0');
    }
    exp += eneg ? -e : e;
  }
  std::size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return "0";
  std::size_t last = digits.find_last_not_of('0');
  exp += static_cast<long long>(digits.size() - 1 - last);
  std::string out = neg ? "-" : "";
  out.append(digits, first, last - first + 1);
  out += 'e';
  out += std::to_string(exp);
  return out;
}

}  // namespace

namespace {

// The positions, among the number tokens of `text` in order, of those spelled
// exactly "-0". Strings are skipped; the text need not be valid (the parser
// that runs next reports errors).
std::vector<std::size_t> negative_zero_tokens(std::string_view text) {
  std::vector<std::size_t> out;
  if (text.find("-0") == std::string_view::npos) return out;
  auto number_char = [](char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
  };
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
      ++i;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t start = i;
      while (i < text.size() && number_char(text[i])) ++i;
      if (text.substr(start, i - start) == "-0") out.push_back(count);
      ++count;
    } else {
      ++i;
    }
  }
  return out;
}

}  // namespace

Json parse(std::string_view text, std::size_t max_depth) {
  // nlohmann's lexer takes a NUL byte for the end of the input, so
  // "123\0<anything>" would read as 123. A NUL is valid nowhere in JSON text
  // (not even inside a string), so it is an error wherever it is.
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    throw ParseError("syntax error: NUL byte in JSON text", nul + 1);
  }
  Builder builder(max_depth, negative_zero_tokens(text));
  bool ok = Json::sax_parse(text.begin(), text.end(), &builder, Json::input_format_t::json,
                            /*strict=*/true, /*ignore_comments=*/false);
  if (!ok) {
    std::string msg = builder.error().empty() ? "invalid JSON" : builder.error();
    throw ParseError(msg, builder.error_pos());
  }
  return builder.take();
}

void dump_to(std::string& out, const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::number_integer:
      out += std::to_string(v.get<Json::number_integer_t>());
      return;
    case Json::value_t::number_unsigned:
      out += std::to_string(v.get<Json::number_unsigned_t>());
      return;
    case Json::value_t::number_float:
      // Only values built in code (not parsed) get here; nlohmann's shortest
      // round-trip form is exact for them.
      out += v.dump();
      return;
    case Json::value_t::binary:
      out += raw_number_text(v);
      return;
    case Json::value_t::string:
      escape_string(out, v.get_ref<const std::string&>());
      return;
    case Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v) {
        if (!first) out.push_back(',');
        first = false;
        dump_to(out, e);
      }
      out.push_back(']');
      return;
    }
    case Json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.items()) {
        if (!first) out.push_back(',');
        first = false;
        escape_string(out, k);
        out.push_back(':');
        dump_to(out, e);
      }
      out.push_back('}');
      return;
    }
    case Json::value_t::discarded:
      out += "null";
      return;
  }
}

namespace {

std::size_t escaped_size(std::string_view s) {
  std::size_t n = 2;
  for (unsigned char c : s) {
    switch (c) {
      case '"':
      case '\\':
      case '\n':
      case '\r':
      case '\t':
      case '\b':
      case '\f':
        n += 2;
        break;
      default:
        n += c < 0x20 ? 6 : 1;
    }
  }
  return n;
}

}  // namespace

std::size_t dumped_size(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded:
      return 4;
    case Json::value_t::boolean:
      return v.get<bool>() ? 4 : 5;
    case Json::value_t::number_integer:
      return std::to_string(v.get<Json::number_integer_t>()).size();
    case Json::value_t::number_unsigned:
      return std::to_string(v.get<Json::number_unsigned_t>()).size();
    case Json::value_t::number_float:
      return v.dump().size();
    case Json::value_t::binary:
      return raw_number_text(v).size();
    case Json::value_t::string:
      return escaped_size(v.get_ref<const std::string&>());
    case Json::value_t::array: {
      std::size_t n = 2 + (v.empty() ? 0 : v.size() - 1);
      for (const auto& e : v) n += dumped_size(e);
      return n;
    }
    case Json::value_t::object: {
      std::size_t n = 2 + (v.empty() ? 0 : v.size() - 1);
      for (const auto& [k, e] : v.items()) n += escaped_size(k) + 1 + dumped_size(e);
      return n;
    }
  }
  return 0;
}

std::string dump(const Json& v) {
  std::string out;
  dump_to(out, v);
  return out;
}

bool is_raw_number(const Json& v) {
  return v.is_binary() && v.get_binary().has_subtype() &&
         v.get_binary().subtype() == kRawNumberSubtype;
}

bool is_number(const Json& v) {
  return v.is_number() || is_raw_number(v);
}

Json raw_number(std::string_view text) {
  Json::binary_t::container_type bytes(text.begin(), text.end());
  return Json::binary(std::move(bytes), kRawNumberSubtype);
}

std::string_view raw_number_text(const Json& v) {
  if (!is_raw_number(v)) return {};
  const auto& b = v.get_binary();
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string canonical_number(const Json& v) {
  if (is_raw_number(v)) return canonical_text(raw_number_text(v));
  if (v.is_number_integer() || v.is_number_unsigned() || v.is_number_float()) {
    return canonical_text(dump(v));
  }
  throw std::invalid_argument("not a number");
}

bool equal(const Json& a, const Json& b) {
  if (is_number(a) || is_number(b)) {
    if (!is_number(a) || !is_number(b)) return false;
    if ((a.is_number_integer() || a.is_number_unsigned()) &&
        (b.is_number_integer() || b.is_number_unsigned())) {
      // nlohmann compares a signed with an unsigned integer after casting the
      // unsigned one to signed, which makes -1 equal 18446744073709551615.
      if (a.is_number_unsigned() != b.is_number_unsigned()) {
        const Json& s = a.is_number_unsigned() ? b : a;
        const Json& u = a.is_number_unsigned() ? a : b;
        const auto sv = s.get<Json::number_integer_t>();
        return sv >= 0 &&
               static_cast<Json::number_unsigned_t>(sv) == u.get<Json::number_unsigned_t>();
      }
      return a == b;
    }
    return canonical_number(a) == canonical_number(b);
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Json::value_t::array: {
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (!equal(a[i], b[i])) return false;
      }
      return true;
    }
    case Json::value_t::object: {
      if (a.size() != b.size()) return false;
      // Same member order is the common case: compare pairwise.
      auto ia = a.begin();
      auto ib = b.begin();
      for (; ia != a.end() && ia.key() == ib.key(); ++ia, ++ib) {
        if (!equal(ia.value(), ib.value())) return false;
      }
      if (ia == a.end()) return true;
      // The orders differ: look the remaining members up by name
      // (ordered_json's find() is a linear scan, quadratic over a large
      // object). Names are unique, so the remaining names of `a` can only
      // match the remaining names of `b`.
      const MemberIndex rest(ib, b.end());
      for (; ia != a.end(); ++ia) {
        const Json* other = rest.find(ia.key());
        if (other == nullptr || !equal(ia.value(), *other)) return false;
      }
      return true;
    }
    default:
      return a == b;
  }
}

namespace {

// Canonical form of an integer without the detour through text parsing: its
// digits without trailing zeros, "e", their count ("1000" -> "1e3").
void append_canonical_integer(std::string& out, bool negative, std::uint64_t magnitude) {
  if (magnitude == 0) {
    out += "0";
    return;
  }
  int zeros = 0;
  while (magnitude % 10 == 0) {
    magnitude /= 10;
    ++zeros;
  }
  if (negative) out.push_back('-');
  out += std::to_string(magnitude);
  out.push_back('e');
  out += std::to_string(zeros);
}

void append_identity(std::string& out, const Json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned()) {
    const auto i = v.get<Json::number_integer_t>();
    out.push_back('n');
    append_canonical_integer(
        out, i < 0,
        i < 0 ? static_cast<std::uint64_t>(-(i + 1)) + 1 : static_cast<std::uint64_t>(i));
    return;
  }
  if (v.is_number_unsigned()) {
    out.push_back('n');
    append_canonical_integer(out, false, v.get<Json::number_unsigned_t>());
    return;
  }
  if (is_number(v)) {
    out.push_back('n');
    out += canonical_number(v);
    return;
  }
  switch (v.type()) {
    case Json::value_t::string:
      out.push_back('s');
      out += v.get_ref<const std::string&>();
      return;
    case Json::value_t::boolean:
      out.push_back(v.get<bool>() ? 't' : 'f');
      return;
    case Json::value_t::null:
      out.push_back('z');
      return;
    case Json::value_t::array:
      out += "a[";
      for (const auto& e : v) {
        append_identity(out, e);
        out.push_back('\x1f');
      }
      out.push_back(']');
      return;
    case Json::value_t::object: {
      std::vector<std::pair<std::string, std::string>> members;
      for (const auto& [k, e] : v.items()) {
        std::string id;
        append_identity(id, e);
        members.emplace_back(k, std::move(id));
      }
      std::sort(members.begin(), members.end());
      out += "o{";
      for (const auto& [k, e] : members) {
        dump_to(out, Json(k));
        out.push_back(':');
        out += e;
        out.push_back('\x1f');
      }
      out.push_back('}');
      return;
    }
    default:
      out.push_back('?');
      return;
  }
}

}  // namespace

std::string identity(const Json& v) {
  std::string out;
  append_identity(out, v);
  return out;
}

}  // namespace pb::json
