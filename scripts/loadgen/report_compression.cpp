#include "report_compression.h"

#include <map>
#include <string>
#include <utility>

#include "report_tables.h"

namespace pbl {

namespace {

using nlohmann::json;
using namespace report;

const char* shape_title(const std::string& shape) {
  if (shape == "orders") return "the example's orders (json-patch events)";
  if (shape == "large") return "a ~50 KB document (diff: snapshot, the whole document per event)";
  return "padding";
}

struct Group {
  // "pollbridge" / "nchan" → "" (plain) / "gzip" → the run.
  std::map<std::string, std::map<std::string, json>> runs;
  const json* find(const char* target, const char* enc) const {
    auto t = runs.find(target);
    if (t == runs.end()) return nullptr;
    auto e = t->second.find(enc);
    return e == t->second.end() ? nullptr : &e->second;
  }
};

double value(const json* j, const char* pointer) {
  return j ? num(*j, pointer) : -1;
}

}  // namespace

void print_compression(std::ostream& out, const std::vector<json>& runs) {
  // By (clients, shape), in the order first run.
  std::map<std::pair<long, std::string>, Group> groups;
  for (const json& j : runs) {
    if (!j.contains("steady")) continue;
    groups[{j.value("clients", 0L), j.value("shape", "pad")}]
        .runs[j.value("target", "")][j.value("accept_encoding", "")] = j;
  }
  static const char* const kColumns[][3] = {
      {"pollbridge", "", "pollbridge, plain"},
      {"pollbridge", "gzip", "pollbridge, gzip"},
      {"nchan", "", "nginx+nchan, plain"},
      {"nchan", "gzip", "nginx+nchan, gzip (per connection)"}};
  for (const auto& [key, group] : groups) {
    const json* any = nullptr;
    Columns columns;
    for (const auto& col : kColumns) {
      if (const json* j = group.find(col[0], col[1])) {
        columns.emplace_back(col[2], j);
        any = any ? any : j;
      }
    }
    if (!any) continue;
    out << "### Compression: " << grouped(static_cast<double>(key.first)) << " clients, "
        << shape_title(key.second) << ", " << num(*any, "/rate") << " events/s, "
        << num(*any, "/duration_s") << " s\n\n";
    // The same server's plain run, for the ratios.
    auto plain = [&group](const json& j) {
      return group.find(j.value("target", "") == "nchan" ? "nchan" : "pollbridge", "");
    };
    table(out, columns,
          {
              connected_row("clients connected (time to connect)"),
              {"streams compressed (Content-Encoding) / inflated and checked",
               [](const json& j) {
                 const std::string enc = j.value("/steady/content_encoding"_json_pointer, "");
                 return cell(j, "/steady/encoded_receivers", -1) + " (" +
                        (enc.empty() ? "none" : enc) + ") / " +
                        cell(j, "/steady/checked_receivers", -1);
               }},
              {"bytes on the wire per event and client",
               [](const json& j) { return cell(j, "/steady/wire_bytes_per_event", -1); }},
              {"… ÷ the same server's plain figure",
               [&plain](const json& j) {
                 return ratio(num(j, "/steady/wire_bytes_per_event"),
                              value(plain(j), "/steady/wire_bytes_per_event"));
               }},
              {"compressed ÷ inflated body bytes (checked streams)",
               [](const json& j) { return cell(j, "/steady/inflate_ratio", 3); }},
              deliveries_row(),
              latency_row("/steady", "p50"),
              latency_row("/steady", "p99"),
              {"delivered / expected (checked streams)",
               [](const json& j) {
                 return cells(j, "/steady/delivered", " / ", "/steady/expected_checked", -1);
               }},
              {"lost by clients ; dups ; unparsable events",
               [](const json& j) {
                 return cell(j, "/steady/lost_by_clients", -1) + " ; " +
                        cell(j, "/steady/dups", -1) + " ; " + cell(j, "/steady/bad_events", -1);
               }},
              cpu_row(),
              {"CPU per delivery ÷ the same server's plain figure",
               [&plain](const json& j) {
                 return ratio(num(j, "/steady/cpu_per_100k"),
                              value(plain(j), "/steady/cpu_per_100k"));
               }},
              {"load client CPU s",
               [](const json& j) { return cell(j, "/steady/loadgen_cpu_s", 2); }},
              load_row(),
          });
    const json* pb = group.find("pollbridge", "");
    const json* pbz = group.find("pollbridge", "gzip");
    const json* ng = group.find("nchan", "");
    const json* ngz = group.find("nchan", "gzip");
    out << "Targets (issue 21): bytes per event gzip ÷ plain: pollbridge "
        << ratio(value(pbz, "/steady/wire_bytes_per_event"),
                 value(pb, "/steady/wire_bytes_per_event"))
        << ", nginx "
        << ratio(value(ngz, "/steady/wire_bytes_per_event"),
                 value(ng, "/steady/wire_bytes_per_event"))
        << (key.second == "large" ? " (target for this stream: at most 0.30)" : "")
        << "; pollbridge's CPU per delivery gzip ÷ plain "
        << ratio(value(pbz, "/steady/cpu_per_100k"), value(pb, "/steady/cpu_per_100k"))
        << " (target: at most 1.30); pollbridge gzip ÷ nginx gzip "
        << ratio(value(pbz, "/steady/cpu_per_100k"), value(ngz, "/steady/cpu_per_100k"))
        << " (target: below 1).\n\n";
  }
}

}  // namespace pbl
