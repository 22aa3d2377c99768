// Incremental Server-Sent Events parser following the WHATWG "event stream
// interpretation" rules: lines end with CRLF, LF or CR (a CRLF may be split
// across two reads); `data:` lines are joined with "\n"; a single space after
// the colon is dropped; lines starting with ':' are comments; a blank line
// dispatches the event; `id` values containing NUL are ignored; the last event
// id persists across events; an event with no data is not dispatched.
//
// Single-threaded: one parser per connection, fed by the load client's epoll
// loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pbl {

struct SseEvent {
  std::string_view type;  // "message" when the stream named none
  std::string_view data;  // data lines joined with '\n', no trailing '\n'
  std::string_view id;    // the last event id in effect for this event
};

class SseParser {
 public:
  // Receives every dispatched event and every comment. The views are valid
  // only during the call.
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void on_event(const SseEvent& event) = 0;
    virtual void on_comment(std::string_view /*text*/) {}
    virtual void on_retry(std::uint64_t /*ms*/) {}
  };

  // Feeds the next bytes of the stream (after HTTP framing was removed).
  void feed(const char* data, std::size_t size, Sink& sink);

  // Forgets everything but the last event id (what a reconnect keeps).
  void reset_stream();

  const std::string& last_event_id() const { return last_id_; }
  void set_last_event_id(std::string id) { last_id_ = std::move(id); }

  // Bytes of the current unfinished line (for memory accounting in tests).
  std::size_t pending_line_bytes() const { return line_.size(); }

 private:
  void process_line(std::string_view line, Sink& sink);
  void dispatch(Sink& sink);

  std::string line_;       // partial line carried between feeds
  std::string data_;       // data buffer of the event being built
  std::string type_;       // event type buffer
  std::string last_id_;    // last event id buffer (persists)
  bool after_cr_ = false;  // previous chunk ended with CR: skip a leading LF
  bool bom_checked_ = false;
};

}  // namespace pbl
