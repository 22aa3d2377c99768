#include "ingest/ingest.h"

#include "diff/filter.h"
#include "ingest/decode.h"
#include "json/document.h"

namespace pb::ingest {
namespace {

// A number as the upstream wrote it (a cursor must come back unchanged).
std::string number_text(const json::Json& v) {
  return json::is_raw_number(v) ? std::string(json::raw_number_text(v)) : json::dump(v);
}

}  // namespace

Ingest::Ingest(const config::StreamConfig& cfg, stream::Stream& stream)
    : cfg_(cfg), stream_(stream) {
  if (!cfg_.select.empty()) select_ = json::Pointer::parse(cfg_.select);
  for (const auto& p : cfg_.ignore) ignore_.push_back(json::Pointer::parse(p));
  if (cfg_.pages.enabled()) {
    page_items_ = json::Pointer::parse(cfg_.pages.items);
    if (cfg_.pages.next != "link") page_next_ = json::Pointer::parse(cfg_.pages.next);
  }
}

upstream::Sink::Delivery Ingest::deliver(const std::string& body, const std::string& content_type,
                                         SystemClock::time_point now) {
  json::Json doc;
  try {
    doc = decode(cfg_, body, content_type);
  } catch (const DecodeError& e) {
    return {Delivery::kRefused, e.what()};
  }
  return publish(std::move(doc), now);
}

upstream::Sink::Delivery Ingest::publish(json::Json doc, SystemClock::time_point now) {
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

upstream::Sink::PageRead Ingest::read_page(std::size_t index, const std::string& body,
                                           const std::string& content_type, bool want_next) {
  const std::string page = "page " + std::to_string(index + 1) + ": ";
  json::Json doc;
  try {
    doc = decode(cfg_, body, content_type);
  } catch (const DecodeError& e) {
    return {page + e.what(), std::nullopt};
  }
  PageRead out;
  if (want_next) {
    const json::Json* next = page_next_.find(doc);
    if (next == nullptr || next->is_null()) {
      // The end of the list.
    } else if (next->is_string()) {
      out.next = next->get<std::string>();
    } else if (json::is_number(*next)) {
      out.next = number_text(*next);
    } else {
      return {page + cfg_.pages.next + " is neither a string, a number nor null", std::nullopt};
    }
  }
  json::Json* items = page_items_.find(doc);
  if (items == nullptr || !items->is_array()) {
    return {page + (cfg_.pages.items.empty() ? std::string("the page") : cfg_.pages.items) +
                " is not an array",
            std::nullopt};
  }
  if (pages_.size() <= index) pages_.resize(index + 1);
  pages_[index] = std::move(*items);
  return out;
}

upstream::Sink::Delivery Ingest::deliver_pages(std::size_t count, SystemClock::time_point now) {
  json::Json all = json::Json::array();
  for (std::size_t i = 0; i < count && i < pages_.size(); ++i) {
    for (auto& item : pages_[i]) all.push_back(std::move(item));
  }
  if (pages_.size() < count) {
    pages_.clear();
    return {Delivery::kRefused, "pages: a page's items are missing"};
  }
  pages_.clear();
  pages_.shrink_to_fit();
  return publish(std::move(all), now);
}

void Ingest::drop_pages() {
  pages_.clear();
  pages_.shrink_to_fit();
}

std::optional<std::map<std::string, std::string>> Ingest::object_members(const std::string& body) {
  json::Json doc;
  try {
    doc = json::parse(body);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!doc.is_object()) return std::nullopt;
  std::map<std::string, std::string> out;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it->is_string()) {
      out[it.key()] = it->get<std::string>();
    } else if (json::is_number(*it)) {
      out[it.key()] = number_text(*it);
    }
  }
  return out;
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
