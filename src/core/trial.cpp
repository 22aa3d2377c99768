#include "core/trial.h"

#include <optional>

#include "common/ascii.h"
#include "core/stream_template.h"

namespace pb::core {

bool trial_target(const config::StreamConfig& stream,
                  const std::map<std::string, std::string>& values,
                  const std::vector<std::pair<std::string, std::string>>& forwarded,
                  TrialTarget& out, std::string& why) {
  auto tmpl = make_template(stream);
  for (const auto& [name, value] : values) {
    (void)value;
    if (!stream.params.count(name)) {
      why = "stream " + stream.name + " has no parameter " + name;
      if (stream.params.empty()) {
        why += " (it is not parameterized)";
      } else {
        std::string names;
        for (const auto& [n, p] : stream.params) names += (names.empty() ? "" : ", ") + n;
        why += " (its parameters: " + names + ")";
      }
      return false;
    }
  }
  // The address a client would name the instance by, matched as the
  // proxy matches a client's (the same patterns and value checks).
  std::string address;
  for (std::size_t i = 0; i < tmpl->segments.size(); ++i) {
    const std::string& seg = tmpl->segments[i];
    std::string part = seg;
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      const std::string name = seg.substr(1, seg.size() - 2);
      auto v = values.find(name);
      if (v == values.end()) {
        why = "stream " + stream.name + " needs a value for its parameter " + name;
        return false;
      }
      if (v->second.find('/') != std::string::npos) {
        why = "parameter " + name + " of stream " + stream.name + " cannot hold '/'";
        return false;
      }
      part = v->second;
    }
    address += (i ? "/" : "") + part;
  }
  if (!tmpl->parameterized()) address = tmpl->plain_address();
  TemplateMatch m = match_template(*tmpl, split_segments(address), address);
  if (m.kind == TemplateMatch::kInvalid) {
    why = m.why;
    return false;
  }
  if (m.kind == TemplateMatch::kNone) {
    why = "stream " + stream.name + ": its path does not name every parameter";
    return false;
  }
  // Forwarded headers: only those the stream forwards, by their configured
  // name (as auth::forwarded_values gives them), in config order.
  const std::vector<std::string>& names = stream.auth.forward_headers;
  std::vector<std::optional<std::string>> given(names.size());
  for (const auto& [name, value] : forwarded) {
    std::size_t i = 0;
    while (i < names.size() && !iequals(names[i], name)) ++i;
    if (i == names.size()) {
      why = names.empty()
                ? "stream " + stream.name + " forwards no request headers (not a per-user stream)"
                : "stream " + stream.name + " does not forward the header " + name;
      return false;
    }
    if (given[i]) {
      why = "header " + name + " is given twice";
      return false;
    }
    given[i] = value;
  }
  std::vector<std::pair<std::string, std::string>> headers;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (given[i] && !given[i]->empty()) headers.emplace_back(names[i], *given[i]);
  }
  out.cfg = instance_config(stream, m.values, headers);
  out.address = std::move(address);
  return true;
}

Trial::Trial(TrialTarget target) : target_(std::move(target)) {
  chain_ = std::make_unique<PollChain>(target_.address, target_.cfg, stream::Stream::Options{},
                                       &store_, &coordinator_, real_clock(),
                                       static_cast<stream::Listener*>(this));
}

Trial::~Trial() = default;

void Trial::on_event(const stream::EventPtr& event) {
  published_.push_back(event);
}

Trial::Poll Trial::poll() {
  published_.clear();
  chain_->poller().poll_once();
  Poll out;
  out.status = chain_->stream().status();
  out.ok = stream::healthy(out.status);
  out.events = std::move(published_);
  published_.clear();
  return out;
}

stream::EventPtr Trial::document() const {
  return chain_->stream().snapshot();
}

}  // namespace pb::core
