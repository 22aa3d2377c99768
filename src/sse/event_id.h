// Event ids. Clients treat them as opaque strings; pollbridge writes them as
// "<epoch>-<seq>": the epoch names one unbroken history of a stream (it
// changes when state is lost), seq counts events within it from 1. Within an
// epoch ids are strictly ordered by seq.
//
// A connection that multiplexes several streams carries a composite id: the
// per-stream ids in the order the streams were requested, joined by ','.
//
// Pure; callable from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pb::sse {

struct EventId {
  std::string epoch;
  std::uint64_t seq = 0;

  std::string str() const;
  bool operator==(const EventId& o) const { return epoch == o.epoch && seq == o.seq; }
};

// An epoch: 8 lowercase hex digits from a random source.
std::string new_epoch();

// Parses "<epoch>-<seq>"; nullopt for anything else (an unknown id).
std::optional<EventId> parse_event_id(std::string_view text);

// Splits a composite id into its parts (empty parts are kept as empty).
std::vector<std::string> split_composite(std::string_view text);
std::string join_composite(const std::vector<std::string>& ids);

// The id a client resumes from: the Last-Event-ID header wins over the
// ?lastEventId= query parameter (EventSource sends the header on reconnect
// while the URL still carries the first id). Surrounding blanks are trimmed;
// an empty value means "no id".
std::optional<std::string> resume_id(const std::string* header, const std::string* query);

}  // namespace pb::sse
