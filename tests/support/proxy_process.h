// The real pollbridge binary, started for a test: writes the config into a
// temporary folder, launches the process, and reads the bound port from its
// "listening on" line. Killed (SIGKILL) on destruction if still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace pb::testing {

// A fresh temporary directory, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

class ProxyProcess {
 public:
  // Variables set for the process, on top of the test's environment. Proxy
  // variables (http_proxy, HTTPS_PROXY, NO_PROXY, ...) are never inherited,
  // only set here, so that a machine's proxy settings cannot change a test.
  // ASAN_OPTIONS gets quarantine_size_mb=16 unless it sets a quarantine.
  // Extra environment for the child. PB_TEST_RLIMIT_NOFILE=N is special: it
  // is not passed on but sets the child's RLIMIT_NOFILE (soft and hard) to N.
  using Env = std::vector<std::pair<std::string, std::string>>;

  // `yaml` is the whole config; its server.listen should use port 0.
  explicit ProxyProcess(const std::string& yaml, std::vector<std::string> args = {}, Env env = {});
  // Runs with an existing config file (for restarts against the same state).
  static ProxyProcess from_file(const std::string& config_path, std::vector<std::string> args = {},
                                Env env = {});
  ~ProxyProcess();
  ProxyProcess(ProxyProcess&& o) noexcept;
  ProxyProcess(const ProxyProcess&) = delete;

  bool started() const { return port_ > 0; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& config_path() const { return config_path_; }

  void signal(int sig) const;
  // Waits for exit; returns the exit status (or 128+signal), -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  std::string stderr_text() const;
  std::string stdout_text() const;

 private:
  ProxyProcess() = default;
  void launch(std::vector<std::string> args);

  TempDir* dir_ = nullptr;  // owned when the config was written here
  std::string config_path_;
  std::string out_path_, err_path_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_status_ = -1;
  Env env_;
};

// Resident memory of a process in KiB (VmRSS in /proc/<pid>/status), -1 if
// unreadable.
long rss_kib(pid_t pid);

// Runs the binary to completion (e.g. --check); returns exit status and
// captures combined output.
int run_pollbridge(const std::vector<std::string>& args, std::string* output);

// The binary started with `args` as they are (a subcommand such as
// `pollbridge probe ...`), its standard output and error kept apart, in the
// environment ProxyProcess gives (`env` over the test's, no proxy
// variables). Killed (SIGKILL) on destruction if still running; a sanitizer
// report on its stderr fails the test.
class CommandRun {
 public:
  explicit CommandRun(std::vector<std::string> args, ProxyProcess::Env env = {});
  ~CommandRun();
  CommandRun(const CommandRun&) = delete;
  CommandRun& operator=(const CommandRun&) = delete;

  pid_t pid() const { return pid_; }
  // Waits for exit; the exit status (or 128+signal), -1 on timeout.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::string stdout_text() const;
  std::string stderr_text() const;

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
};

}  // namespace pb::testing
