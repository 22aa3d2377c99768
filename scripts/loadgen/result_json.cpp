#include "result_json.h"

#include <fstream>

namespace pbl {

using nlohmann::json;

json histogram_json(const Histogram& h) {
  return json{{"count", h.count()},
              {"p50_ms", us_to_ms(h.quantile_us(0.50))},
              {"p90_ms", us_to_ms(h.quantile_us(0.90))},
              {"p99_ms", us_to_ms(h.quantile_us(0.99))},
              {"p999_ms", us_to_ms(h.quantile_us(0.999))},
              {"max_ms", us_to_ms(h.max_us())},
              {"mean_ms", h.mean_us() / 1000.0}};
}

json proc_json(const ProcSample& s) {
  return json{{"cpu_s", s.cpu_seconds}, {"rss_kib", s.rss_kib}, {"pss_kib", s.pss_kib},
              {"threads", s.threads},   {"fds", s.fds},         {"ok", s.ok}};
}

json phase_json(const PhaseStats& s) {
  return json{{"events", s.events},
              {"delivered", s.delivered},
              {"gaps", s.gaps},
              {"dups", s.dups},
              {"bad_events", s.bad_events},
              {"disconnects", s.disconnects},
              {"connect_errors", s.connect_errors}};
}

double loadavg1() {
  std::ifstream in("/proc/loadavg");
  double v = -1;
  in >> v;
  return v;
}

}  // namespace pbl
