#include "config/param_pattern.h"

#include <re2/re2.h>

namespace pb::config {

std::shared_ptr<const ParamPattern> ParamPattern::compile(const std::string& pattern,
                                                          std::string& why) {
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_max_mem(kParamPatternMaxMem);
  auto p = std::shared_ptr<ParamPattern>(new ParamPattern);
  p->text_ = pattern;
  p->re_ = std::make_unique<re2::RE2>(pattern, opts);
  if (!p->re_->ok()) {
    why = p->re_->error();
    return nullptr;
  }
  return p;
}

ParamPattern::~ParamPattern() = default;

bool ParamPattern::matches(std::string_view value) const {
  return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *re_);
}

bool valid_param_value(std::string_view s, std::string& why) {
  // One path segment, always: empty, "." and ".." would be dot segments in
  // the upstream URL (RFC 3986 5.2.4), whatever the pattern allows.
  if (s.empty()) {
    why = "is empty";
    return false;
  }
  if (s == "." || s == "..") {
    why = "is a dot segment (\".\" and \"..\" are never parameter values)";
    return false;
  }
  // '@' separates an address from the digest in a per-user instance's key
  // (core/instance_request.h): a value holding it could name another
  // instance's key.
  if (s.find('@') != std::string_view::npos) {
    why = "contains '@' (reserved: it separates per-user instance keys)";
    return false;
  }
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) {
      why = "contains a NUL byte";
      return false;
    }
    std::size_t len = c < 0x80             ? 1
                      : (c & 0xE0) == 0xC0 ? 2
                      : (c & 0xF0) == 0xE0 ? 3
                      : (c & 0xF8) == 0xF0 ? 4
                                           : 0;
    unsigned cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    bool ok = len != 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      ok = (b & 0xC0) == 0x80;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
               cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) {
      ok = false;
    }
    if (!ok) {
      why = "is not valid UTF-8";
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace pb::config
