// The pattern a parameter value must match (`params: { customer: "^[0-9]+$" }`).
// Values come from request URLs, so patterns run in linear time: RE2 (Debian's
// libre2), which has no backtracking (and so no backreferences or
// lookaround; a pattern using them is refused at config load). A value
// matches when the whole value matches (RE2::FullMatch; "^" and "$" are
// allowed and change nothing).
//
// Threads: immutable once compiled; matches() from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace pb::config {

class ParamPattern {
 public:
  // Compiles `pattern`; on failure returns null and sets `why`.
  static std::shared_ptr<const ParamPattern> compile(const std::string& pattern, std::string& why);
  ~ParamPattern();

  bool matches(std::string_view value) const;
  const std::string& text() const { return text_; }

 private:
  ParamPattern() = default;
  std::string text_;
  std::unique_ptr<re2::RE2> re_;
};

// A value a client may give for a parameter, whatever the pattern allows:
// not empty, not "." or "..", no '@', no NUL, valid UTF-8 (the value as
// decoded from the request path, so "%2e%2e" is ".."). False with `why` set
// otherwise.
bool valid_param_value(std::string_view value, std::string& why);

// Most memory RE2 may use for one compiled pattern.
constexpr long long kParamPatternMaxMem = 1 << 20;

}  // namespace pb::config
