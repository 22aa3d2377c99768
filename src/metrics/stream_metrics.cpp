#include "metrics/stream_metrics.h"

#include <map>
#include <vector>

#include "common/mutex.h"

namespace pb::metrics {
namespace {

struct Registry {
  Mutex mu;
  std::map<std::string, std::shared_ptr<StreamMetrics>> streams PB_GUARDED_BY(mu);
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void StreamMetrics::count_event(std::string_view type) {
  std::size_t i = 0;
  while (i + 1 < kEventTypes.size() && type != kEventTypes[i]) ++i;
  events[i].fetch_add(1, std::memory_order_relaxed);
}

std::shared_ptr<StreamMetrics> stream_metrics(const std::string& name) {
  Registry& r = registry();
  MutexLock lock(r.mu);
  auto& slot = r.streams[name];
  if (!slot) slot = std::make_shared<StreamMetrics>();
  return slot;
}

std::vector<std::pair<std::string, const StreamMetrics*>> all_stream_metrics() {
  // Entries are never removed, so the pointers stay valid without the lock
  // (and a scrape moves no reference counts).
  std::vector<std::pair<std::string, const StreamMetrics*>> all;
  Registry& r = registry();
  MutexLock lock(r.mu);
  for (const auto& [name, m] : r.streams) all.emplace_back(name, m.get());
  return all;
}

std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void write_stream_metrics(std::ostream& o) {
  std::vector<std::pair<std::string, const StreamMetrics*>> all = all_stream_metrics();
  for (auto& [label, m] : all) label = "stream=\"" + label_value(label) + "\"";
  auto head = [&](const char* name, const char* type, const char* help) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  head("pollbridge_upstream_poll_duration_seconds", "histogram",
       "Upstream requests, from sending to the whole response (or the failure), per stream.");
  for (const auto& [label, m] : all) {
    write_histogram(o, "pollbridge_upstream_poll_duration_seconds", label, m->poll_duration);
  }
  head("pollbridge_publish_delay_seconds", "histogram",
       "From an upstream response to each of its events being queued to the hub (parse, diff, "
       "store commit, encoding), per stream.");
  for (const auto& [label, m] : all) {
    write_histogram(o, "pollbridge_publish_delay_seconds", label, m->publish_delay);
  }
  head("pollbridge_events_total", "counter", "Events published, per stream and event type.");
  for (const auto& [label, m] : all) {
    for (std::size_t i = 0; i < kEventTypes.size(); ++i) {
      o << "pollbridge_events_total{" << label << ",type=\"" << kEventTypes[i] << "\"} "
        << m->events[i].load(std::memory_order_relaxed) << '\n';
    }
  }
}

}  // namespace pb::metrics
