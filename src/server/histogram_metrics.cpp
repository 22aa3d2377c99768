#include "server/histogram_metrics.h"

#include "metrics/histogram.h"
#include "metrics/stream_metrics.h"

namespace pb::server {

void write_histogram_metrics(std::ostream& o, const hub::Hub& hub) {
  auto head = [&](const char* name, const char* help) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " histogram\n";
  };
  head("pollbridge_fanout_seconds",
       "From an event being queued to the hub to its write to the last client of its stream, per "
       "hub thread with clients of that stream.");
  metrics::write_histogram(o, "pollbridge_fanout_seconds", "", hub.fanout_histogram());
  head("pollbridge_sse_connection_duration_seconds", "How long SSE connections lasted.");
  metrics::write_histogram(o, "pollbridge_sse_connection_duration_seconds", "",
                           hub.connection_histogram());
  metrics::write_stream_metrics(o);
}

}  // namespace pb::server
