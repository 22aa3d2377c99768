// The ingest stage, between a stream's poller and the stream: decodes an
// upstream body into a document (ingest/decode.h), applies `select`
// and `ignore`, and gives the document to the stream, which diffs, records
// and publishes it.
//
//   poller (upstream/) ─► Ingest ─► stream (stream/) ─► hub
//   fetch, bounds,        decode,     diff, ids, history,
//   backoff               select      store, publish
//
// Threads: as upstream::Sink (the thread processing a poll; the scheduler
// for listened/may_poll/position).
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "json/pointer.h"
#include "stream/stream.h"
#include "upstream/sink.h"

namespace pb::ingest {

class Ingest : public upstream::Sink {
 public:
  // `cfg` and `stream` must outlive it. Throws if select or ignore do not
  // parse (the loader has checked them).
  Ingest(const config::StreamConfig& cfg, stream::Stream& stream);

  Delivery deliver(const std::string& body, const std::string& content_type,
                   SystemClock::time_point now) override;
  void unchanged(SystemClock::time_point now) override;
  std::string explain(const std::string& body, const std::string& content_type) override;
  void failed(const std::string& reason, int status, SystemClock::time_point now) override;
  PageRead read_page(std::size_t index, const std::string& body, const std::string& content_type,
                     bool want_next) override;
  Delivery deliver_pages(std::size_t count, SystemClock::time_point now) override;
  void drop_pages() override;
  std::optional<std::map<std::string, std::string>> object_members(
      const std::string& body) override;
  std::pair<std::string, std::uint64_t> position() override;
  bool listened() override;
  bool may_poll() override;
  const std::string& key() const override;

 private:
  const config::StreamConfig& cfg_;
  stream::Stream& stream_;
  json::Pointer select_;
  std::vector<json::Pointer> ignore_;
  Delivery publish(json::Json doc, SystemClock::time_point now);
  json::Pointer page_items_;
  json::Pointer page_next_;        // with pages.next a pointer
  std::vector<json::Json> pages_;  // each page's items, for deliver_pages()
};

}  // namespace pb::ingest
