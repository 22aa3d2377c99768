// What the operator's console shows (docs/console.md), as JSON: the
// overview of every live instance (GET /admin/state) and one instance's
// detail (GET /admin/streams/{id}). Per-user instances are named by an
// opaque label (log::private_id of their key), never by what identifies the
// user; configs are shown with their secrets masked.
//
// Threads: the HTTP workers (pb-http). Each call reads the instances'
// lock-free counters and views; the detail takes one stream's lock briefly
// to copy its last events.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "core/runtime.h"
#include "json/document.h"

namespace pb::server {

// How many of a stream's last events the detail lists.
constexpr std::size_t kConsoleEvents = 20;
// Documents larger than this are not sent in the detail (their size is).
constexpr std::size_t kConsoleDocumentLimit = 1u << 20;

// The instance's id in the console: its address, or for a per-user instance
// its private label ("u-" and 12 hex digits).
std::string console_id(const core::Instance& inst);

// The live instance with that console id, or null.
std::shared_ptr<core::Instance> find_console_instance(core::Runtime& runtime,
                                                      const std::string& id);

// {"now_ms", "streams": [{"id", "stream", "kind", "state", "reason", ...}],
//  "idle": [{"stream", "kind"}]}: "idle" names the parameterized and per-user
// streams of `cfg` (the running config) that have no live instance, so that
// every configured stream has a row.
json::Json console_overview(core::Runtime& runtime, const config::Config& cfg);

// One instance: its overview row plus "config" (masked), "document" (text),
// "events" (the last kConsoleEvents, oldest first) and "durations".
json::Json console_detail(core::Runtime& runtime, core::Instance& inst);

// The stream's config as the console shows it: header values other than a
// few harmless ones, query values, URL credentials, bodies and OAuth2/login
// credentials are replaced by "***".
json::Json masked_stream_config(const config::StreamConfig& cfg);

}  // namespace pb::server
