#include "report_tables.h"

#include <cstdio>

namespace pbl::report {

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

double num(const json& j, const char* pointer, double def) {
  const json::json_pointer p(pointer);
  if (!j.contains(p)) return def;
  const json& v = j.at(p);
  return v.is_number() ? v.get<double>() : def;
}

std::string cell(const json& j, const char* pointer, int digits) {
  const json::json_pointer p(pointer);
  if (!j.contains(p) || !j.at(p).is_number()) return "–";
  return digits < 0 ? grouped(j.at(p).get<double>()) : fixed(j.at(p).get<double>(), digits);
}

std::string cells(const json& j, const char* a, const char* sep, const char* b, int digits) {
  return cell(j, a, digits) + sep + cell(j, b, digits);
}

std::string ratio(double x, double y) {
  return x > 0 && y > 0 ? fixed(x / y, 2) : std::string("–");
}

void table(std::ostream& out, const Columns& columns, const Rows& rows) {
  out << "| |";
  for (const auto& col : columns) out << " " << col.first << " |";
  out << "\n|---|";
  for (std::size_t i = 0; i < columns.size(); ++i) out << "---:|";
  out << "\n";
  for (const auto& [name, fn] : rows) {
    out << "| " << name << " |";
    for (const auto& col : columns) out << " " << fn(*col.second) << " |";
    out << "\n";
  }
  out << "\n";
}

Columns target_columns(const std::map<std::string, json>& by_target) {
  static const char* const kTargets[][2] = {{"pollbridge", "pollbridge"}, {"nchan", "nginx+nchan"}};
  Columns columns;
  for (const auto& t : kTargets) {
    auto it = by_target.find(t[0]);
    if (it != by_target.end()) columns.emplace_back(t[1], &it->second);
  }
  return columns;
}

namespace {
std::string at(const char* phase, const char* rest) {
  return std::string(phase) + rest;
}
}  // namespace

Row connected_row(const char* name) {
  return {name, [](const json& j) {
            return grouped(num(j, "/connected")) + " (" + cell(j, "/connect_s", 2) + " s)";
          }};
}

Row latency_row(const char* phase, const char* which) {
  const std::string p = at(phase, "/latency/") + which + "_ms";
  return {std::string("delivery latency ") + which + " (ms)",
          [p](const json& j) { return cell(j, p.c_str(), 1); }};
}

Row deliveries_row() {
  return {"deliveries/s (offered)", [](const json& j) {
            return cell(j, "/steady/deliveries_per_s", -1) + " (" +
                   cell(j, "/steady/offered_per_s", -1) + ")";
          }};
}

Row delivered_row(const char* phase) {
  const std::string a = at(phase, "/delivered"), b = at(phase, "/expected");
  return {"delivered / expected",
          [a, b](const json& j) { return cells(j, a.c_str(), " / ", b.c_str(), -1); }};
}

Row publish_rtt_row(const char* phase) {
  const std::string a = at(phase, "/publish_rtt/p50_ms"), b = at(phase, "/publish_rtt/max_ms");
  return {"publish request p50 / max (ms)",
          [a, b](const json& j) { return cells(j, a.c_str(), " / ", b.c_str(), 1); }};
}

Row upstream_fetch_row(const char* phase) {
  const std::string p = at(phase, "/upstream_fetch");
  return {"change → upstream GET p50 / max (ms); folded", [p](const json& j) {
            if (!j.contains(json::json_pointer(p))) return std::string("n/a");
            return cells(j, (p + "/p50_ms").c_str(), " / ", (p + "/max_ms").c_str(), 1) + "; " +
                   cell(j, (p + "/folded").c_str(), -1);
          }};
}

Row cpu_row() {
  return {"server CPU s per 100k deliveries",
          [](const json& j) { return cell(j, "/steady/cpu_per_100k", 3); }};
}

Row load_row() {
  return {"machine load average (start → end)",
          [](const json& j) { return cells(j, "/loadavg_start", " → ", "/loadavg_end", 2); }};
}

}  // namespace pbl::report
