#include "ingest/ingest.h"

#include "common/utf8.h"
#include "diff/filter.h"
#include "json/document.h"

namespace pb::ingest {

Ingest::Ingest(const config::StreamConfig& cfg, stream::Stream& stream)
    : cfg_(cfg), stream_(stream) {
  if (!cfg_.select.empty()) select_ = json::Pointer::parse(cfg_.select);
  for (const auto& p : cfg_.ignore) ignore_.push_back(json::Pointer::parse(p));
}

upstream::Sink::Delivery Ingest::deliver(const std::string& body, SystemClock::time_point now) {
  json::Json doc;
  if (cfg_.diff == config::DiffMode::kText) {
    doc = json::Json(sanitize_utf8(body));
  } else {
    try {
      doc = json::parse(body);
    } catch (const json::ParseError& e) {
      return {Delivery::kRefused, "upstream body is not JSON (at byte " +
                                      std::to_string(e.offset()) + "): " + e.what()};
    }
    try {
      doc = diff::prepare(doc, select_, ignore_);
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

std::string sanitize_utf8(const std::string& in) {
  static const char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    if (const std::size_t len = utf8_sequence_length(in, i)) {
      out.append(in, i, len);
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

}  // namespace pb::ingest
