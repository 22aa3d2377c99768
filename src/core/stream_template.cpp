#include "core/stream_template.h"

#include <stdexcept>

namespace pb::core {

std::vector<std::string> split_segments(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

std::string StreamTemplate::plain_address() const {
  std::string address;
  for (std::size_t i = 0; i < segments.size(); ++i) address += (i ? "/" : "") + segments[i];
  return address.empty() ? cfg.name : address;
}

std::shared_ptr<const StreamTemplate> make_template(const config::StreamConfig& cfg) {
  auto t = std::make_shared<StreamTemplate>();
  t->cfg = cfg;
  t->history = std::make_shared<std::atomic<std::size_t>>(cfg.history);
  const std::string prefix = "/events/";
  std::string rest = cfg.path.empty() ? cfg.name
                     : cfg.path.compare(0, prefix.size(), prefix) == 0
                         ? cfg.path.substr(prefix.size())
                         : cfg.path;
  t->segments = split_segments(rest);
  for (const auto& [name, pattern] : cfg.params) {
    std::string why;
    auto p = config::ParamPattern::compile(pattern, why);
    // The loader has compiled the same pattern already.
    if (!p) throw std::invalid_argument("stream " + cfg.name + ": pattern of " + name + ": " + why);
    t->params.emplace_back(name, std::move(p));
  }
  return t;
}

TemplateMatch match_template(const StreamTemplate& t, const std::vector<std::string>& segs,
                             const std::string& address) {
  TemplateMatch m;
  if (!t.parameterized()) {
    if (t.plain_address() == address) m.kind = TemplateMatch::kPlain;
    return m;
  }
  if (t.segments.size() != segs.size()) return m;
  std::map<std::string, std::string> values;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const std::string& ts = t.segments[i];
    if (ts.size() > 2 && ts.front() == '{' && ts.back() == '}') {
      values[ts.substr(1, ts.size() - 2)] = segs[i];
    } else if (ts != segs[i]) {
      return m;
    }
  }
  for (const auto& [name, pattern] : t.params) {
    const std::string& v = values[name];
    std::string why;
    if (!config::valid_param_value(v, why)) {
      m.kind = TemplateMatch::kInvalid;
      m.why = "parameter " + name + " of stream " + t.cfg.name + " " + why;
      return m;
    }
    if (!pattern->matches(v)) {
      m.kind = TemplateMatch::kInvalid;
      m.why = "parameter " + name + " of stream " + t.cfg.name + " does not match its pattern " +
              pattern->text();
      return m;
    }
  }
  m.kind = TemplateMatch::kValues;
  m.values = std::move(values);
  return m;
}

}  // namespace pb::core
