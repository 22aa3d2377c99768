// "limit refused": one warn line when a request or connection is turned
// away at a configured limit, throttled per limit (and stream) to one line
// per log::kRepeatPeriod; the next line says how many were not logged
// (`suppressed`). A flood of refusals therefore costs a few lines.
//
// Threads: any.
#pragma once

#include <string_view>

namespace pb::log {

// `limit`: the config key (server.max_connections, server.max_clients,
// streams[].max_instances, ...); `status`: what the client was answered
// (0: closed unanswered); `client`: its address; `stream`: the stream's
// name when the limit is a stream's, else empty.
void refused(std::string_view limit, int status, std::string_view client,
             std::string_view stream = {});

}  // namespace pb::log
