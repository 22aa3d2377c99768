#include "proc_stats.h"

#include <dirent.h>

#include <unistd.h>
#include <fstream>
#include <sstream>

namespace pbl {

namespace {

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

long status_field_kib(const std::string& text, const std::string& name) {
  const std::size_t at = text.find("\n" + name + ":");
  if (at == std::string::npos) return -1;
  return std::strtol(text.c_str() + at + name.size() + 2, nullptr, 10);
}

bool add_one(const std::string& dir, ProcSample& s) {
  std::string stat;
  if (!read_file(dir + "/stat", stat)) return false;
  // Field 2 (comm) may hold spaces: parse after the last ')'.
  const std::size_t rp = stat.rfind(')');
  if (rp == std::string::npos) return false;
  std::istringstream in(stat.substr(rp + 2));
  std::string field;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoul(field);
    if (i == 15) stime = std::stoul(field);
  }
  static const long ticks = sysconf(_SC_CLK_TCK);
  s.cpu_seconds += static_cast<double>(utime + stime) / static_cast<double>(ticks);

  std::string status;
  if (!read_file(dir + "/status", status)) return false;
  status = "\n" + status;
  const long rss = status_field_kib(status, "VmRSS");
  const long threads = status_field_kib(status, "Threads");
  if (rss >= 0) s.rss_kib += rss;
  if (threads >= 0) s.threads += threads;

  std::string rollup;
  long pss = -1;
  if (read_file(dir + "/smaps_rollup", rollup)) pss = status_field_kib("\n" + rollup, "Pss");
  s.pss_kib += pss >= 0 ? pss : (rss >= 0 ? rss : 0);

  long fds = 0;
  if (DIR* d = opendir((dir + "/fd").c_str())) {
    while (dirent* e = readdir(d)) fds += e->d_name[0] != '.';
    closedir(d);
  }
  s.fds.push_back(fds);
  return true;
}

}  // namespace

ProcSample sample_processes(const std::vector<pid_t>& pids) {
  ProcSample s;
  s.ok = !pids.empty();
  for (pid_t pid : pids) {
    if (!add_one("/proc/" + std::to_string(pid), s)) s.ok = false;
  }
  return s;
}

ProcSample sample_self() {
  ProcSample s;
  s.ok = add_one("/proc/self", s);
  return s;
}

std::vector<pid_t> parse_pid_list(const std::string& text) {
  std::vector<pid_t> pids;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) {
      const long v = std::strtol(cur.c_str(), nullptr, 10);
      if (v > 0) pids.push_back(static_cast<pid_t>(v));
      cur.clear();
    }
  };
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      cur.push_back(c);
    } else {
      flush();
    }
  }
  flush();
  return pids;
}

std::vector<pid_t> read_pid_file(const std::string& path) {
  std::string text;
  if (!read_file(path, text)) return {};
  return parse_pid_list(text);
}

}  // namespace pbl
