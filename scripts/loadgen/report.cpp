#include "report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

namespace pbl {

namespace {

using nlohmann::json;

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string grouped(double v) {
  const long long n = static_cast<long long>(v + (v < 0 ? -0.5 : 0.5));
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return n < 0 ? "-" + s : s;
}

double num(const json& j, const json::json_pointer& p, double def = -1) {
  if (!j.contains(p)) return def;
  const json& v = j.at(p);
  return v.is_number() ? v.get<double>() : def;
}

std::string cell(const json& j, const char* pointer, int digits) {
  const json::json_pointer p(pointer);
  if (!j.contains(p) || !j.at(p).is_number()) return "–";
  return digits < 0 ? grouped(j.at(p).get<double>()) : fixed(j.at(p).get<double>(), digits);
}

const char* kTargets[] = {"pollbridge", "nchan"};
const char* kHeads[] = {"pollbridge", "nginx+nchan"};

using Row = std::function<std::string(const json&)>;

void table(std::ostream& out, const std::map<std::string, json>& by_target,
           const std::vector<std::pair<std::string, Row>>& rows) {
  out << "| |";
  for (int t = 0; t < 2; ++t) {
    if (by_target.count(kTargets[t])) out << " " << kHeads[t] << " |";
  }
  out << "\n|---|";
  for (int t = 0; t < 2; ++t) {
    if (by_target.count(kTargets[t])) out << "---:|";
  }
  out << "\n";
  for (const auto& [name, fn] : rows) {
    out << "| " << name << " |";
    for (int t = 0; t < 2; ++t) {
      auto it = by_target.find(kTargets[t]);
      if (it != by_target.end()) out << " " << fn(it->second) << " |";
    }
    out << "\n";
  }
  out << "\n";
}

// Tables 1-3 of the front door: connect rate, TLS fan-out (summary; the
// full tables follow with the others), held connections.
void print_front_door(std::ostream& out, const std::map<long, std::map<std::string, json>>& connect,
                      const std::map<std::pair<bool, long>, std::map<std::string, json>>& fanout,
                      const std::map<long, std::map<std::string, json>>& held) {
  auto both = [](const std::map<std::string, json>& m, const char* pointer, int digits) {
    auto get = [&](const char* t) {
      auto it = m.find(t);
      return it == m.end() ? std::string("–") : cell(it->second, pointer, digits);
    };
    return get("pollbridge") + " / " + get("nchan");
  };
  auto ratio = [](const std::map<std::string, json>& m, const char* pointer) {
    auto a = m.find("pollbridge");
    auto b = m.find("nchan");
    if (a == m.end() || b == m.end()) return std::string("–");
    double x = num(a->second, json::json_pointer(pointer));
    double y = num(b->second, json::json_pointer(pointer));
    return x > 0 && y > 0 ? fixed(x / y, 2) : std::string("–");
  };
  if (!connect.empty()) {
    out << "### Connect rate: N clients connect and get their response head\n\n"
        << "| clients | seconds, median of rounds: pollbridge / nginx+nchan | rounds pollbridge | "
           "rounds nginx+nchan | pollbridge ÷ nginx |\n|---:|---:|---|---|---:|\n";
    for (const auto& [clients, m] : connect) {
      auto rounds = [&](const char* t) {
        auto it = m.find(t);
        if (it == m.end() || !it->second.contains(json::json_pointer("/connect/rounds_s")))
          return std::string("–");
        std::string s;
        for (const auto& v : it->second.at(json::json_pointer("/connect/rounds_s")))
          s += (s.empty() ? "" : ", ") + fixed(v.get<double>(), 2);
        return s;
      };
      out << "| " << grouped(static_cast<double>(clients)) << " | "
          << both(m, "/connect/median_s", 2) << " | " << rounds("pollbridge") << " | "
          << rounds("nchan") << " | " << ratio(m, "/connect/median_s") << " |\n";
    }
    out << "\n";
  }
  bool tls = false;
  for (const auto& [key, m] : fanout) tls = tls || key.first;
  if (tls) {
    out << "### TLS fan-out (same certificate, TLS 1.3): pollbridge / nginx+nchan\n\n"
        << "| clients | p99 (ms) | p50 (ms) | deliveries/s | CPU s per 100k deliveries | CPU "
           "pollbridge ÷ nchan | lost / dups |\n|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& [key, m] : fanout) {
      if (!key.first) continue;
      out << "| " << grouped(static_cast<double>(key.second)) << " | "
          << both(m, "/steady/latency/p99_ms", 1) << " | " << both(m, "/steady/latency/p50_ms", 1)
          << " | " << both(m, "/steady/deliveries_per_s", -1) << " | "
          << both(m, "/steady/cpu_per_100k", 3) << " | " << ratio(m, "/steady/cpu_per_100k")
          << " | " << both(m, "/steady/lost_by_clients", -1) << " ; " << both(m, "/steady/dups", -1)
          << " |\n";
    }
    out << "\n";
  }
  for (const auto& [clients, m] : held) {
    out << "### Held connections: " << grouped(static_cast<double>(clients))
        << " (half idle keep-alive, half slowloris)\n\n";
    table(out, m,
          {
              {"held: idle / slowloris",
               [](const json& j) {
                 return cell(j, "/held/idle_held", -1) + " / " + cell(j, "/held/slow_held", -1);
               }},
              {"still open after the newcomers",
               [](const json& j) { return cell(j, "/held/still_open", -1); }},
              {"set-up time (s)", [](const json& j) { return cell(j, "/held/setup_s", 2); }},
              {"newcomer's time to its first event, nothing held (ms, median)",
               [](const json& j) {
                 const json::json_pointer p("/held/newcomer_alone_ms");
                 if (!j.contains(p)) return std::string("–");
                 std::vector<double> v;
                 for (const auto& x : j.at(p)) v.push_back(x.get<double>());
                 std::sort(v.begin(), v.end());
                 return v.empty() ? std::string("–") : fixed(v[v.size() / 2], 1);
               }},
              {"newcomer's time to its first event, all held (ms, median / max)",
               [](const json& j) {
                 return cell(j, "/held/newcomer_median_ms", 1) + " / " +
                        cell(j, "/held/newcomer_max_ms", 1);
               }},
              {"server RSS per held connection (KiB)",
               [](const json& j) { return cell(j, "/held/rss_per_held_kib", 2); }},
              {"server PSS per held connection (KiB)",
               [](const json& j) { return cell(j, "/held/pss_per_held_kib", 2); }},
              {"server threads (before → held → after)",
               [](const json& j) {
                 return cell(j, "/held/server_before/threads", -1) + " → " +
                        cell(j, "/held/server_held/threads", -1) + " → " +
                        cell(j, "/held/server_after/threads", -1);
               }},
              {"waiting long-polls held / still waiting (then closed)",
               [](const json& j) {
                 return cell(j, "/held_waiting/waiting/held", -1) + " / " +
                        cell(j, "/held_waiting/waiting/still_open", -1);
               }},
              {"server RSS per waiting long-poll (KiB)",
               [](const json& j) { return cell(j, "/held_waiting/waiting/rss_per_held_kib", 2); }},
              {"server threads (before → waiting long-polls held)",
               [](const json& j) {
                 return cell(j, "/held_waiting/waiting/server_before/threads", -1) + " → " +
                        cell(j, "/held_waiting/waiting/server_held/threads", -1);
               }},
              {"idle SSE subscribers held (then closed)",
               [](const json& j) { return cell(j, "/held_waiting/sse/held", -1); }},
              {"server RSS per idle SSE subscriber (KiB)",
               [](const json& j) { return cell(j, "/held_waiting/sse/rss_per_held_kib", 2); }},
              {"server threads (before → SSE subscribers held)",
               [](const json& j) {
                 return cell(j, "/held_waiting/sse/server_before/threads", -1) + " → " +
                        cell(j, "/held_waiting/sse/server_held/threads", -1);
               }},
              {"machine load average (start → end)",
               [](const json& j) {
                 return cell(j, "/loadavg_start", 2) + " → " + cell(j, "/loadavg_end", 2);
               }},
          });
  }
}

// Long-poll fan-out (bench-fanout.sh RUNS=longpoll), one table per count.
void print_longpoll(std::ostream& out, const std::map<long, std::map<std::string, json>>& runs) {
  for (const auto& [clients, m] : runs) {
    const json& any = m.begin()->second;
    out << "### Long-poll fan-out: " << grouped(static_cast<double>(clients))
        << " long-poll clients, " << num(any, json::json_pointer("/rate")) << " events/s, "
        << any.value("payload", 0) << " B payload, " << num(any, json::json_pointer("/duration_s"))
        << " s\n\n";
    double cpu[2] = {-1, -1};
    for (int t = 0; t < 2; ++t) {
      auto it = m.find(kTargets[t]);
      if (it != m.end()) cpu[t] = num(it->second, json::json_pointer("/steady/cpu_per_100k"));
    }
    const std::string ratio =
        cpu[0] > 0 && cpu[1] > 0 ? fixed(cpu[0] / cpu[1], 2) : std::string("–");
    table(out, m,
          {
              {"clients waiting (time to connect)",
               [](const json& j) {
                 return grouped(num(j, json::json_pointer("/connected"))) + " (" +
                        cell(j, "/connect_s", 2) + " s)";
               }},
              {"deliveries/s (offered)",
               [](const json& j) {
                 return cell(j, "/steady/deliveries_per_s", -1) + " (" +
                        cell(j, "/steady/offered_per_s", -1) + ")";
               }},
              {"delivery latency p50 (ms)",
               [](const json& j) { return cell(j, "/steady/latency/p50_ms", 1); }},
              {"delivery latency p99 (ms)",
               [](const json& j) { return cell(j, "/steady/latency/p99_ms", 1); }},
              {"delivery latency max (ms)",
               [](const json& j) { return cell(j, "/steady/latency/max_ms", 1); }},
              {"delivered / expected",
               [](const json& j) {
                 return cell(j, "/steady/delivered", -1) + " / " + cell(j, "/steady/expected", -1);
               }},
              {"lost by clients ; dups",
               [](const json& j) {
                 return cell(j, "/steady/lost_by_clients", -1) + " ; " +
                        cell(j, "/steady/dups", -1);
               }},
              {"requests (empty answers)",
               [](const json& j) {
                 return cell(j, "/steady/requests", -1) + " (" +
                        cell(j, "/steady/empty_answers", -1) + ")";
               }},
              {"events per answer",
               [](const json& j) { return cell(j, "/steady/events_per_answer", 2); }},
              {"server CPU s per 100k deliveries",
               [](const json& j) { return cell(j, "/steady/cpu_per_100k", 3); }},
              {"CPU per delivery, pollbridge ÷ nchan",
               [&](const json& j) { return j.value("target", "") == "nchan" ? "" : ratio; }},
              {"server RSS per waiting client (KiB)",
               [](const json& j) { return cell(j, "/rss_per_client_kib", 2); }},
              {"machine load average (start → end)",
               [](const json& j) {
                 return cell(j, "/loadavg_start", 2) + " → " + cell(j, "/loadavg_end", 2);
               }},
          });
  }
}

// Several pollbridge instances sharing a Redis beside one instance, the
// same total number of clients.
void print_cluster(std::ostream& out, const std::map<long, std::vector<json>>& cluster) {
  for (const auto& [clients, runs] : cluster) {
    out << "### Several instances through Redis: " << grouped(static_cast<double>(clients))
        << " clients in total, " << num(runs.front(), json::json_pointer("/rate"))
        << " events/s\n\n"
        << "| setup | instances | p50 (ms) | p99 (ms) | max (ms) | p99 ÷ first row | delivered / "
           "expected | lost ; dups | poll request p50 (ms) | pollbridge CPU s per 100k "
           "deliveries | Redis CPU ms per event |\n"
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    const double ref = num(runs.front(), json::json_pointer("/steady/latency/p99_ms"));
    for (const json& j : runs) {
      std::string label = j.value("label", "");
      if (label.rfind("cluster: ", 0) == 0) label = label.substr(9);
      const double p99 = num(j, json::json_pointer("/steady/latency/p99_ms"));
      out << "| " << label << " | " << cell(j, "/instances", -1) << " | "
          << cell(j, "/steady/latency/p50_ms", 1) << " | " << cell(j, "/steady/latency/p99_ms", 1)
          << " | " << cell(j, "/steady/latency/max_ms", 1) << " | "
          << (ref > 0 && p99 > 0 ? fixed(p99 / ref, 2) : std::string("–")) << " | "
          << cell(j, "/steady/delivered", -1) << " / " << cell(j, "/steady/expected", -1) << " | "
          << cell(j, "/steady/lost_by_clients", -1) << " ; " << cell(j, "/steady/dups", -1) << " | "
          << cell(j, "/steady/publish_rtt/p50_ms", 2) << " | " << cell(j, "/steady/cpu_per_100k", 3)
          << " | " << cell(j, "/steady/extra_cpu_ms_per_event", 3) << " |\n";
    }
    out << "\n";
  }
}

}  // namespace

bool print_report(const std::string& path, std::ostream& out) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    return false;
  }
  // Keyed by (TLS, clients): TLS runs get tables of their own.
  std::map<std::pair<bool, long>, std::map<std::string, json>> fanout;
  std::map<long, std::map<std::string, json>> storm, connect, held, longpoll;
  std::vector<json> upstream;
  // Runs labelled "cluster: ..." (bench-fanout.sh RUNS=cluster), by total
  // clients, in the order run: the first is the reference.
  std::map<long, std::vector<json>> cluster;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    const std::string mode = j.value("mode", "fanout");
    const long clients = j.value("clients", 0L);
    const std::string target = j.value("target", "");
    if (mode == "upstream-count") {
      upstream.push_back(j);
      continue;
    }
    if (mode == "connect") {
      connect[clients][target] = j;
      continue;
    }
    if (mode == "held") {
      held[clients][target] = j;
      continue;
    }
    if (mode == "longpoll") {
      longpoll[clients][target] = j;
      continue;
    }
    if (j.value("label", "").rfind("cluster", 0) == 0) {
      if (j.contains("steady")) cluster[clients].push_back(j);
      continue;
    }
    if (j.contains("steady")) fanout[{j.value("tls", false), clients}][target] = j;
    if (j.contains("storm")) storm[clients][target] = j;
  }

  print_front_door(out, connect, fanout, held);
  print_longpoll(out, longpoll);

  for (const auto& [key, by_target] : fanout) {
    const long clients = key.second;
    const json& any = by_target.begin()->second;
    out << "### " << (key.first ? "TLS, " : "") << grouped(static_cast<double>(clients))
        << " clients, " << num(any, json::json_pointer("/rate")) << " events/s, "
        << any.value("payload", 0) << " B payload, " << num(any, json::json_pointer("/duration_s"))
        << " s\n\n";
    table(out, by_target,
          {
              {"clients connected (time to connect)",
               [](const json& j) {
                 return grouped(num(j, json::json_pointer("/connected"))) + " (" +
                        cell(j, "/connect_s", 2) + " s)";
               }},
              {"delivery latency p50 (ms)",
               [](const json& j) { return cell(j, "/steady/latency/p50_ms", 1); }},
              {"delivery latency p99 (ms)",
               [](const json& j) { return cell(j, "/steady/latency/p99_ms", 1); }},
              {"delivery latency max (ms)",
               [](const json& j) { return cell(j, "/steady/latency/max_ms", 1); }},
              {"deliveries/s (offered)",
               [](const json& j) {
                 return cell(j, "/steady/deliveries_per_s", -1) + " (" +
                        cell(j, "/steady/offered_per_s", -1) + ")";
               }},
              {"events published/s (achieved)",
               [](const json& j) { return cell(j, "/steady/publish_rate", 1); }},
              {"publish request p50 / max (ms)",
               [](const json& j) {
                 return cell(j, "/steady/publish_rtt/p50_ms", 1) + " / " +
                        cell(j, "/steady/publish_rtt/max_ms", 1);
               }},
              {"delivered / expected",
               [](const json& j) {
                 return cell(j, "/steady/delivered", -1) + " / " + cell(j, "/steady/expected", -1);
               }},
              {"gaps (seqs skipped, all clients)",
               [](const json& j) { return cell(j, "/steady/gaps", -1); }},
              {"… of those, lost deliveries",
               [](const json& j) { return cell(j, "/steady/lost_by_clients", -1); }},
              {"changes no client received",
               [](const json& j) { return cell(j, "/steady/unseen_by_all", -1); }},
              {"duplicates", [](const json& j) { return cell(j, "/steady/dups", -1); }},
              {"change → upstream GET p50 / max (ms); folded",
               [](const json& j) {
                 if (!j.contains(json::json_pointer("/steady/upstream_fetch")))
                   return std::string("n/a");
                 return cell(j, "/steady/upstream_fetch/p50_ms", 1) + " / " +
                        cell(j, "/steady/upstream_fetch/max_ms", 1) + "; " +
                        cell(j, "/steady/upstream_fetch/folded", -1);
               }},
              {"server CPU s per 100k deliveries",
               [](const json& j) { return cell(j, "/steady/cpu_per_100k", 3); }},
              {"server RSS per idle client (KiB)",
               [](const json& j) { return cell(j, "/rss_per_client_kib", 2); }},
              {"server PSS per idle client (KiB)",
               [](const json& j) { return cell(j, "/pss_per_client_kib", 2); }},
              {"server threads (idle → loaded)",
               [](const json& j) {
                 return cell(j, "/server_base/threads", -1) + " → " +
                        cell(j, "/server_idle/threads", -1) + " → " +
                        cell(j, "/server_loaded/threads", -1);
               }},
              {"open fds per server process (idle)",
               [](const json& j) {
                 const json::json_pointer p("/server_idle/fds");
                 if (!j.contains(p) || !j.at(p).is_array()) return std::string("–");
                 std::string out;
                 for (const auto& v : j.at(p))
                   out += (out.empty() ? "" : " + ") + grouped(v.get<double>());
                 return out;
               }},
              {"disconnects during the run",
               [](const json& j) { return cell(j, "/steady/disconnects", -1); }},
              {"load client CPU s",
               [](const json& j) { return cell(j, "/steady/loadgen_cpu_s", 2); }},
              {"machine load average (start → end)",
               [](const json& j) {
                 return cell(j, "/loadavg_start", 2) + " → " + cell(j, "/loadavg_end", 2);
               }},
          });
  }

  for (const auto& [clients, by_target] : storm) {
    out << "### Reconnect storm, " << grouped(static_cast<double>(clients))
        << " clients (all close and reconnect with Last-Event-ID over "
        << num(by_target.begin()->second, json::json_pointer("/storm/spread_s")) << " s)\n\n";
    table(out, by_target,
          {
              {"clients resumed",
               [](const json& j) {
                 return cell(j, "/storm/resumed", -1) + " / " + cell(j, "/storm/clients", -1);
               }},
              {"time until all resumed (s)",
               [](const json& j) { return cell(j, "/storm/all_resumed_s", 2); }},
              {"per-client resume p50 / p99 / max (ms)",
               [](const json& j) {
                 return cell(j, "/storm/resume/p50_ms", 1) + " / " +
                        cell(j, "/storm/resume/p99_ms", 1) + " / " +
                        cell(j, "/storm/resume/max_ms", 1);
               }},
              {"events lost across the reconnect",
               [](const json& j) { return cell(j, "/storm/lost", -1); }},
              {"duplicates", [](const json& j) { return cell(j, "/storm/dups", -1); }},
              {"seq gaps (all clients)", [](const json& j) { return cell(j, "/storm/gaps", -1); }},
              {"changes no client received",
               [](const json& j) { return cell(j, "/storm/unseen_by_all", -1); }},
              {"change → upstream GET p50 / max (ms); folded",
               [](const json& j) {
                 if (!j.contains(json::json_pointer("/storm/upstream_fetch")))
                   return std::string("n/a");
                 return cell(j, "/storm/upstream_fetch/p50_ms", 1) + " / " +
                        cell(j, "/storm/upstream_fetch/max_ms", 1) + "; " +
                        cell(j, "/storm/upstream_fetch/folded", -1);
               }},
              {"publish request p50 / max (ms)",
               [](const json& j) {
                 return cell(j, "/storm/publish_rtt/p50_ms", 1) + " / " +
                        cell(j, "/storm/publish_rtt/max_ms", 1);
               }},
              {"failed reconnect attempts",
               [](const json& j) { return cell(j, "/storm/connect_errors", -1); }},
              {"events published during the storm",
               [](const json& j) { return cell(j, "/storm/published", -1); }},
              {"delivered / expected",
               [](const json& j) {
                 return cell(j, "/storm/delivered", -1) + " / " + cell(j, "/storm/expected", -1);
               }},
          });
  }

  print_cluster(out, cluster);

  if (!upstream.empty()) {
    out << "### Upstream requests per interval (pollbridge, one stream)\n\n";
    out << "| clients connected | interval | intervals counted | upstream requests | per interval "
           "| events delivered meanwhile | duplicates |\n";
    out << "|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const json& j : upstream) {
      out << "| " << cell(j, "/connected", -1) << " | " << cell(j, "/upstream/interval_s", 1)
          << " s | " << cell(j, "/upstream/intervals", -1) << " | "
          << cell(j, "/upstream/requests", -1) << " | " << cell(j, "/upstream/per_interval", 2)
          << " | " << cell(j, "/steady/events", -1) << " | " << cell(j, "/steady/dups", -1)
          << " |\n";
    }
    out << "\n";
  }
  return true;
}

}  // namespace pbl
