#include "core/poll_chain.h"

#include <stdexcept>

#include "common/mutex.h"
#include "config/url.h"
#include "diff/differ.h"
#include "upstream/body_template.h"
#include "upstream/url.h"

namespace pb::core {

config::StreamConfig instance_config(
    const config::StreamConfig& stream, const std::map<std::string, std::string>& values,
    const std::vector<std::pair<std::string, std::string>>& forwarded) {
  config::StreamConfig cfg = stream;
  cfg.url = upstream::expand_template(cfg.url, values);
  cfg.body = upstream::expand_body(cfg.body, cfg.content_type, values);
  // A per-user instance is polled with its client's own values.
  for (const auto& h : forwarded) cfg.headers.push_back(h);
  return cfg;
}

PollChain::PollChain(const std::string& key, const config::StreamConfig& cfg,
                     stream::Stream::Options options, stream::Store* store,
                     stream::Coordinator* coordinator, const Clock& clock,
                     stream::Listener* listener)
    : listener_(listener) {
  config::UrlParts parts;
  std::string why;
  if (!config::parse_url(cfg.url, parts, why)) {
    throw std::invalid_argument("stream " + key + ": url " + why);
  }
  options.diff.mode = cfg.diff;
  options.diff.key = diff::KeySpec::parse(cfg.key);
  stream_ = std::make_unique<stream::Stream>(key, cfg.name, std::move(options), store, coordinator,
                                             stream::Clock::now());
  upstream::Url url{parts.scheme, parts.host,
                    parts.port ? parts.port : (parts.scheme == "https" ? 443 : 80), parts.target};
  ingest_ = std::make_unique<ingest::Ingest>(cfg, *stream_);
  poller_ = std::make_unique<upstream::Poller>(cfg, url, *ingest_, clock);
  MutexLock lock(stream_->mutex());
  stream_->add_listener_locked(listener_);
}

PollChain::~PollChain() {
  MutexLock lock(stream_->mutex());
  stream_->remove_listener_locked(listener_);
}

}  // namespace pb::core
