// One configured stream as the runtime sees it: a plain stream (one
// instance, at its fixed address) or the template of a parameterized one
// (an instance per set of parameter values, made on demand). Matching a
// requested address against a template runs in linear time (RE2) and
// refuses values that are not valid UTF-8 or hold NUL, whatever the
// pattern allows.
//
// Threads: immutable once made (but `history`, an atomic); any thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/param_pattern.h"

namespace pb::core {

struct StreamTemplate {
  config::StreamConfig cfg;
  // cfg.history as reloads change it (streams[].history and the top-level
  // history apply live): read by the instances' streams at every event.
  std::shared_ptr<std::atomic<std::size_t>> history;
  std::vector<std::string> segments;  // address segments; "{name}" for params
  std::vector<std::pair<std::string, std::shared_ptr<const config::ParamPattern>>> params;

  bool parameterized() const { return !params.empty(); }
  // The address of a plain stream: its path after /events/.
  std::string plain_address() const;
};

std::shared_ptr<const StreamTemplate> make_template(const config::StreamConfig& cfg);

// Splits an address ("orders/42") at '/'.
std::vector<std::string> split_segments(const std::string& s);

// How an address relates to a template.
struct TemplateMatch {
  enum Kind {
    kNone,     // a different route
    kPlain,    // the address of this plain stream
    kValues,   // a parameter set of this template: `values` hold it
    kInvalid,  // this template's route, but a value is refused: `why` says which
  } kind = kNone;
  std::map<std::string, std::string> values;
  std::string why;
};

TemplateMatch match_template(const StreamTemplate& t, const std::vector<std::string>& segments,
                             const std::string& address);

}  // namespace pb::core
