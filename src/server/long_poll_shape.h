// The shape of a long-poll request: its bytes but for the position it
// resumes from. A client long-polling on a kept-alive connection sends the
// same request again and again, only its `lastEventId` (query) or
// `Last-Event-ID` (header) changes. Two requests of one shape are, for
// routing, access, format and coding, the same request: the connection loop
// answers the later ones itself with what the first one's run on a worker
// decided (server/long_poll_session.h).
//
// The key is the request line without its `lastEventId=` parameters and
// every header line but `Last-Event-ID`, byte for byte (a credential in the
// query, Authorization, Cookie, Origin, Accept and Accept-Encoding are all
// part of it). The position is read the way the API reads it: the query by
// cpp-httplib's own parser (percent-decoding included), the header by its
// trimmed value, combined by sse::resume_id().
//
// Threads: pure functions, any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pb::server {

struct LongPollShape {
  std::string key;
  std::optional<std::string> last_id;
};

// Reads one complete request (head, and no body). False for anything the
// loop must not answer by itself: not a GET, a body, a query parameter
// whose name is percent-encoded or has a '+' (it could decode to
// lastEventId), or a head that cannot be read.
bool read_long_poll_shape(std::string_view request, LongPollShape& out);

}  // namespace pb::server
