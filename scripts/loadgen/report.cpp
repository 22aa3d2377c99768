#include "report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "report_compression.h"
#include "report_tables.h"

namespace pbl {

namespace {

using nlohmann::json;
using namespace report;

// Fan-out runs by transport: plain, TLS, TLS with Accept-Encoding: gzip.
constexpr int kPlainFanout = 0, kTlsFanout = 1, kTlsGzipFanout = 2;

int fanout_kind(const json& j) {
  if (!j.value("tls", false)) return kPlainFanout;
  const json::json_pointer p("/accept_encoding");
  const bool gzip = j.contains(p) && j.at(p).is_string() && j.at(p).get<std::string>() == "gzip";
  return gzip ? kTlsGzipFanout : kTlsFanout;
}

void table(std::ostream& out, const std::map<std::string, json>& by_target, const Rows& rows) {
  report::table(out, target_columns(by_target), rows);
}

// Tables 1-3 of the front door: connect rate, TLS fan-out (summary; the
// full tables follow with the others), held connections.
void print_front_door(std::ostream& out, const std::map<long, std::map<std::string, json>>& connect,
                      const std::map<std::pair<int, long>, std::map<std::string, json>>& fanout,
                      const std::map<long, std::map<std::string, json>>& held) {
  auto both = [](const std::map<std::string, json>& m, const char* pointer, int digits) {
    auto get = [&](const char* t) {
      auto it = m.find(t);
      return it == m.end() ? std::string("–") : cell(it->second, pointer, digits);
    };
    return get("pollbridge") + " / " + get("nchan");
  };
  auto ratio_of = [](const std::map<std::string, json>& m, const char* pointer) {
    auto a = m.find("pollbridge");
    auto b = m.find("nchan");
    if (a == m.end() || b == m.end()) return std::string("–");
    return report::ratio(num(a->second, pointer), num(b->second, pointer));
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
          << rounds("nchan") << " | " << ratio_of(m, "/connect/median_s") << " |\n";
    }
    out << "\n";
  }
  bool tls = false;
  for (const auto& [key, m] : fanout) tls = tls || key.first != kPlainFanout;
  if (tls) {
    out << "### TLS fan-out (same certificate, TLS 1.3): pollbridge / nginx+nchan\n\n"
        << "| clients | p99 (ms) | p50 (ms) | deliveries/s | CPU s per 100k deliveries | CPU "
           "pollbridge ÷ nchan | lost / dups |\n|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& [key, m] : fanout) {
      if (key.first == kPlainFanout) continue;
      out << "| " << grouped(static_cast<double>(key.second))
          << (key.first == kTlsGzipFanout ? ", gzip" : "") << " | "
          << both(m, "/steady/latency/p99_ms", 1) << " | " << both(m, "/steady/latency/p50_ms", 1)
          << " | " << both(m, "/steady/deliveries_per_s", -1) << " | "
          << both(m, "/steady/cpu_per_100k", 3) << " | " << ratio_of(m, "/steady/cpu_per_100k")
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
              load_row(),
          });
  }
}

// Long-poll fan-out (bench-fanout.sh RUNS=longpoll), one table per count.
void print_longpoll(std::ostream& out, const std::map<long, std::map<std::string, json>>& runs) {
  for (const auto& [clients, m] : runs) {
    const json& any = m.begin()->second;
    out << "### Long-poll fan-out: " << grouped(static_cast<double>(clients))
        << " long-poll clients, " << num(any, "/rate") << " events/s, " << any.value("payload", 0)
        << " B payload, " << num(any, "/duration_s") << " s\n\n";
    double cpu[2] = {-1, -1};
    const char* const targets[] = {"pollbridge", "nchan"};
    for (int t = 0; t < 2; ++t) {
      auto it = m.find(targets[t]);
      if (it != m.end()) cpu[t] = num(it->second, "/steady/cpu_per_100k");
    }
    const std::string cpu_ratio = ratio(cpu[0], cpu[1]);
    table(out, m,
          {
              connected_row("clients waiting (time to connect)"),
              deliveries_row(),
              latency_row("/steady", "p50"),
              latency_row("/steady", "p99"),
              latency_row("/steady", "max"),
              delivered_row("/steady"),
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
              cpu_row(),
              {"CPU per delivery, pollbridge ÷ nchan",
               [&](const json& j) { return j.value("target", "") == "nchan" ? "" : cpu_ratio; }},
              {"server RSS per waiting client (KiB)",
               [](const json& j) { return cell(j, "/rss_per_client_kib", 2); }},
              load_row(),
          });
  }
}

// Several pollbridge instances sharing a Redis beside one instance, the
// same total number of clients.
void print_cluster(std::ostream& out, const std::map<long, std::vector<json>>& cluster) {
  for (const auto& [clients, runs] : cluster) {
    out << "### Several instances through Redis: " << grouped(static_cast<double>(clients))
        << " clients in total, " << num(runs.front(), "/rate") << " events/s\n\n"
        << "| setup | instances | p50 (ms) | p99 (ms) | max (ms) | p99 ÷ first row | delivered / "
           "expected | lost ; dups | poll request p50 (ms) | pollbridge CPU s per 100k "
           "deliveries | Redis CPU ms per event |\n"
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    const double ref = num(runs.front(), "/steady/latency/p99_ms");
    for (const json& j : runs) {
      std::string label = j.value("label", "");
      if (label.rfind("cluster: ", 0) == 0) label = label.substr(9);
      const double p99 = num(j, "/steady/latency/p99_ms");
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
  std::map<std::pair<int, long>, std::map<std::string, json>> fanout;
  std::map<long, std::map<std::string, json>> storm, connect, held, longpoll;
  std::vector<json> upstream;
  // Runs labelled "cluster: ..." (bench-fanout.sh RUNS=cluster), by total
  // clients, in the order run: the first is the reference.
  std::map<long, std::vector<json>> cluster;
  std::vector<json> compression;  // labelled "compression: <shape>"
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
    if (j.value("label", "").rfind("compression", 0) == 0) {
      compression.push_back(j);
      continue;
    }
    if (j.value("label", "").rfind("cluster", 0) == 0) {
      if (j.contains("steady")) cluster[clients].push_back(j);
      continue;
    }
    if (j.contains("steady")) fanout[{fanout_kind(j), clients}][target] = j;
    if (j.contains("storm")) storm[clients][target] = j;
  }

  print_front_door(out, connect, fanout, held);
  print_longpoll(out, longpoll);
  print_compression(out, compression);

  for (const auto& [key, by_target] : fanout) {
    const long clients = key.second;
    const json& any = by_target.begin()->second;
    out << "### "
        << (key.first == kTlsGzipFanout ? "TLS, gzip, "
            : key.first == kTlsFanout   ? "TLS, "
                                        : "")
        << grouped(static_cast<double>(clients)) << " clients, " << num(any, "/rate")
        << " events/s, " << any.value("payload", 0) << " B payload, " << num(any, "/duration_s")
        << " s\n\n";
    table(out, by_target,
          {
              connected_row("clients connected (time to connect)"),
              latency_row("/steady", "p50"),
              latency_row("/steady", "p99"),
              latency_row("/steady", "max"),
              deliveries_row(),
              {"events published/s (achieved)",
               [](const json& j) { return cell(j, "/steady/publish_rate", 1); }},
              publish_rtt_row("/steady"),
              delivered_row("/steady"),
              {"gaps (seqs skipped, all clients)",
               [](const json& j) { return cell(j, "/steady/gaps", -1); }},
              {"… of those, lost deliveries",
               [](const json& j) { return cell(j, "/steady/lost_by_clients", -1); }},
              {"changes no client received",
               [](const json& j) { return cell(j, "/steady/unseen_by_all", -1); }},
              {"duplicates", [](const json& j) { return cell(j, "/steady/dups", -1); }},
              upstream_fetch_row("/steady"),
              cpu_row(),
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
              load_row(),
          });
  }

  for (const auto& [clients, by_target] : storm) {
    out << "### Reconnect storm, " << grouped(static_cast<double>(clients))
        << " clients (all close and reconnect with Last-Event-ID over "
        << num(by_target.begin()->second, "/storm/spread_s") << " s)\n\n";
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
              upstream_fetch_row("/storm"),
              publish_rtt_row("/storm"),
              {"failed reconnect attempts",
               [](const json& j) { return cell(j, "/storm/connect_errors", -1); }},
              {"events published during the storm",
               [](const json& j) { return cell(j, "/storm/published", -1); }},
              delivered_row("/storm"),
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
