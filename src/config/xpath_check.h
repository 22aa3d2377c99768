// XPath 1.0 expressions of the config (html.rows, html.fields), checked when
// the config loads: compiled by libxml2 and evaluated once on an empty page,
// so that a syntax error, an unknown function or a variable is reported with
// the key's file:line:col instead of at the first poll.
//
// Threads: the loading thread; QuietLibxml2 on any thread (libxml2's error
// handlers are per thread).
#pragma once

#include <libxml/xmlerror.h>

#include <optional>
#include <string>

namespace pb::config {

// While it lives, libxml2's generic error output on this thread (some
// XPath errors, "function nope not found", go there instead of to the
// context's handler) is dropped instead of written to stderr.
class QuietLibxml2 {
 public:
  QuietLibxml2();
  ~QuietLibxml2();
  QuietLibxml2(const QuietLibxml2&) = delete;
  QuietLibxml2& operator=(const QuietLibxml2&) = delete;

 private:
  void* context_;
  xmlGenericErrorFunc handler_;
};

// Why `expr` is not a usable XPath 1.0 expression (libxml2's reason and the
// character where it stopped), or nothing when it is. With `nodes`, it must
// also give a node-set (html.rows), not a string, number or boolean.
std::optional<std::string> xpath_problem(const std::string& expr, bool nodes);

}  // namespace pb::config
