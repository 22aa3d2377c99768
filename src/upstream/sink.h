// Where a poller hands what it fetched. The upstream side fetches (with its
// bounds, conditional requests and backoff) and knows nothing of documents,
// diffs or the state store: ingest/ingest.h implements this for a stream.
//
// Threads: deliver(), unchanged(), explain() and failed() on the thread processing the
// poll (one at a time per poller); listened(), may_poll() and position()
// also from the scheduler's loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "upstream/backoff.h"

namespace pb::upstream {

class Sink {
 public:
  struct Delivery {
    enum Outcome {
      kRecorded,    // the body's document is the stream's now (changed or not)
      kUnrecorded,  // understood, but the store could not record the change
      kRefused,     // not a document (`reason` says why): the poll failed
    } outcome = kRecorded;
    std::string reason;
  };

  virtual ~Sink() = default;
  // A body that is not byte for byte the last recorded one, with the
  // response's Content-Type ("" if it had none): its charset and media type
  // are the ingest stage's to read.
  virtual Delivery deliver(const std::string& body, const std::string& content_type,
                           SystemClock::time_point now) = 0;
  // The upstream answered with what the stream already holds (304, or the
  // same bytes).
  virtual void unchanged(SystemClock::time_point now) = 0;
  // The poll failed: the document is stale for `reason`.
  virtual void failed(const std::string& reason, int status, SystemClock::time_point now) = 0;
  // What the body of a failed response says about the failure (a SOAP
  // Fault for `parse: xml`), "" if nothing: the poller adds it to the
  // failure's reason. Only streams whose fetcher keeps error bodies
  // (upstream/fetcher.h) get here.
  virtual std::string explain(const std::string& /*body*/, const std::string& /*content_type*/) {
    return {};
  }

  // Paged lists (pages:). read_page(): page `index` of the poll's list
  // (0 starts a new list): its items are kept for deliver_pages(); `next`
  // is the value at pages.next when that is a pointer (nullopt for null,
  // "" or a missing member; a number as its text). `error` says why the
  // page cannot be read ("" if it can).
  struct PageRead {
    std::string error;
    std::optional<std::string> next;
  };
  virtual PageRead read_page(std::size_t index, const std::string& body,
                             const std::string& content_type, bool want_next) {
    (void)index, (void)body, (void)content_type, (void)want_next;
    return {"this stream does not read paged lists", std::nullopt};
  }
  // The document made of pages 0..count-1's items concatenated, delivered
  // as deliver() does; the kept items are dropped.
  virtual Delivery deliver_pages(std::size_t count, SystemClock::time_point now) {
    (void)count, (void)now;
    return {Delivery::kRefused, "this stream does not read paged lists"};
  }
  // The kept items are dropped (a failed or unchanged list).
  virtual void drop_pages() {}
  // The top-level members of a JSON object body whose values are strings
  // or numbers, as text (a token endpoint's answer); nullopt if the body is
  // not a JSON object.
  virtual std::optional<std::map<std::string, std::string>> object_members(
      const std::string& body) {
    (void)body;
    return std::nullopt;
  }

  // Where the recorded document is (epoch, sequence). With a shared store
  // another process may move it: then what this poller saw last is not it.
  virtual std::pair<std::string, std::uint64_t> position() = 0;
  // Someone listens, here or in another process (`idle: stop`).
  virtual bool listened() = 0;
  // This process may poll now (a shared store's lease).
  virtual bool may_poll() = 0;
  // The instance's key, for log lines.
  virtual const std::string& key() const = 0;
};

}  // namespace pb::upstream
