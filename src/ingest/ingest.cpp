#include "ingest/ingest.h"

#include "diff/filter.h"
#include "ingest/decode.h"
#include "json/document.h"

namespace pb::ingest {

Ingest::Ingest(const config::StreamConfig& cfg, stream::Stream& stream)
    : cfg_(cfg), stream_(stream) {
  if (!cfg_.select.empty()) select_ = json::Pointer::parse(cfg_.select);
  for (const auto& p : cfg_.ignore) ignore_.push_back(json::Pointer::parse(p));
}

upstream::Sink::Delivery Ingest::deliver(const std::string& body, const std::string& content_type,
                                         SystemClock::time_point now) {
  json::Json doc;
  try {
    doc = decode(cfg_, body, content_type);
  } catch (const DecodeError& e) {
    return {Delivery::kRefused, e.what()};
  }
  if (cfg_.diff != config::DiffMode::kText) {
    try {
      doc = diff::prepare(std::move(doc), select_, ignore_);
    } catch (const std::exception& e) {
      return {Delivery::kRefused, e.what()};
    }
  }
  try {
    return {stream_.update(doc, now) ? Delivery::kRecorded : Delivery::kUnrecorded, {}};
  } catch (const std::exception& e) {
    return {Delivery::kRefused, e.what()};
  }
}

void Ingest::unchanged(SystemClock::time_point now) {
  stream_.unchanged(now);
}

std::string Ingest::explain(const std::string& body, const std::string& content_type) {
  return explain_error_body(cfg_, body, content_type);
}

void Ingest::failed(const std::string& reason, int status, SystemClock::time_point now) {
  stream_.fail(reason, status, now);
}

std::pair<std::string, std::uint64_t> Ingest::position() {
  stream::Follower::Position p = stream_.position();
  return {std::move(p.epoch), p.doc_seq};
}

bool Ingest::listened() {
  return stream_.client_count() > 0 || stream_.listened_elsewhere();
}

bool Ingest::may_poll() {
  return stream_.may_poll();
}

const std::string& Ingest::key() const {
  return stream_.key();
}

}  // namespace pb::ingest
