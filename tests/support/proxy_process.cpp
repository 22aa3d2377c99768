#include "support/proxy_process.h"

#include "support/util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#ifndef PB_BINARY
#define PB_BINARY "pollbridge"
#endif

namespace pb::testing {
namespace {

// PB_TEST_BINARY in the environment runs the integration tests against
// another build (e.g. an older commit, to show which bugs were real).
std::string binary_path() {
  const char* other = std::getenv("PB_TEST_BINARY");
  return other && *other ? other : PB_BINARY;
}
#define PB_BINARY_PATH binary_path()

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool proxy_variable(const std::string& name) {
  static const char* kNames[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                 "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
  for (const char* n : kNames) {
    if (name == n) return true;
  }
  return false;
}

constexpr const char* kNofileVariable = "PB_TEST_RLIMIT_NOFILE";

pid_t spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err,
            const ProxyProcess::Env& env = {}) {
  // Everything is prepared before fork(): the child of a threaded process may
  // only make async-signal-safe calls.
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string var = *e;
    std::string name = var.substr(0, var.find('='));
    bool overridden = proxy_variable(name);
    for (const auto& [k, v] : env) overridden = overridden || k == name;
    if (!overridden) vars.push_back(std::move(var));
  }
  // PB_TEST_RLIMIT_NOFILE is not passed on: it sets the child's descriptor
  // limit, soft and hard (lowering needs no privilege, raising back would).
  long nofile = 0;
  for (const auto& [k, v] : env) {
    if (k == kNofileVariable) {
      nofile = std::stol(v);
    } else {
      vars.push_back(k + "=" + v);
    }
  }
  // Under ASan, freed memory waits in a quarantine (256 MiB by default)
  // before reuse, so RSS would measure the allocator rather than pollbridge:
  // a 16 MiB one keeps the tests that bound RSS meaningful.
  bool asan_set = false;
  for (auto& v : vars) {
    if (v.rfind("ASAN_OPTIONS=", 0) != 0) continue;
    asan_set = true;
    if (v.find("quarantine_size_mb") == std::string::npos) v += ":quarantine_size_mb=16";
  }
  if (!asan_set) vars.push_back("ASAN_OPTIONS=quarantine_size_mb=16");
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_t pid = fork();
  if (pid == 0) {
    if (nofile > 0) {
      rlimit lim{static_cast<rlim_t>(nofile), static_cast<rlim_t>(nofile)};
      if (setrlimit(RLIMIT_NOFILE, &lim) != 0) _exit(126);
    }
    dup2(o, 1);
    dup2(e, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(o);
  ::close(e);
  return pid;
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "pbtest-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void TempDir::write(const std::string& name, const std::string& content) const {
  std::ofstream out(file(name));
  out << content;
}

ProxyProcess::ProxyProcess(const std::string& yaml, std::vector<std::string> args, Env env)
    : env_(std::move(env)) {
  dir_ = new TempDir();
  config_path_ = dir_->file("pollbridge.yaml");
  dir_->write("pollbridge.yaml", yaml);
  launch(std::move(args));
}

ProxyProcess ProxyProcess::from_file(const std::string& config_path, std::vector<std::string> args,
                                     Env env) {
  ProxyProcess p;
  p.env_ = std::move(env);
  p.config_path_ = config_path;
  p.launch(std::move(args));
  return p;
}

ProxyProcess::ProxyProcess(ProxyProcess&& o) noexcept
    : dir_(o.dir_),
      config_path_(std::move(o.config_path_)),
      out_path_(std::move(o.out_path_)),
      err_path_(std::move(o.err_path_)),
      pid_(o.pid_),
      port_(o.port_),
      exit_status_(o.exit_status_),
      env_(std::move(o.env_)) {
  o.dir_ = nullptr;
  o.pid_ = -1;
}

void ProxyProcess::launch(std::vector<std::string> args) {
  static std::atomic<int> counter{0};
  std::string base = config_path_ + ".run" + std::to_string(counter.fetch_add(1));
  out_path_ = base + ".out";
  err_path_ = base + ".err";
  std::vector<std::string> argv{PB_BINARY_PATH, "--config", config_path_};
  for (auto& a : args) argv.push_back(std::move(a));
  pid_ = spawn(argv, out_path_, err_path_, env_);
  // The main listener's line ("... listening on HOST:PORT (N streams)"), not
  // the admin listener's.
  // With --log-format json the line is a JSON object ("msg":"listening").
  static const std::regex kListening(
      R"((?:listening on [^ \n]*:|"msg":"listening","listen":"[^"]*:)(\d+)[ "])");
  // Under sanitizers on a loaded machine, 2,000 streams take a while to start.
  auto deadline = std::chrono::steady_clock::now() + kSlowdown * std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    std::string out = slurp(out_path_);
    if (std::regex_search(out, m, kListening)) {
      port_ = std::stoi(m[1]);
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ProxyProcess::~ProxyProcess() {
  if (pid_ > 0) {
    // A graceful stop at the end of every test exercises the shutdown path
    // (under the sanitizers too) and must be prompt.
    ::kill(pid_, SIGTERM);
    int code = wait(std::chrono::seconds(10));
    if (code == -1) {
      ADD_FAILURE() << "pollbridge did not exit within 10 s of SIGTERM";
      ::kill(pid_, SIGKILL);
      int status;
      waitpid(pid_, &status, 0);
    } else if (code != 0) {
      ADD_FAILURE() << "pollbridge exited with " << code << " after SIGTERM:\n" << stderr_text();
    }
  }
  if (!err_path_.empty()) {
    std::string err = stderr_text();
    if (err.find("Sanitizer") != std::string::npos ||
        err.find("runtime error:") != std::string::npos) {
      ADD_FAILURE() << "sanitizer report from pollbridge:\n" << err;
    }
  }
  delete dir_;
}

void ProxyProcess::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

int ProxyProcess::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      return exit_status_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

std::string ProxyProcess::stderr_text() const {
  return slurp(err_path_);
}
std::string ProxyProcess::stdout_text() const {
  return slurp(out_path_);
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

int run_pollbridge(const std::vector<std::string>& args, std::string* output) {
  TempDir dir;
  std::vector<std::string> argv{PB_BINARY_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = spawn(argv, dir.file("out"), dir.file("err"));
  int status = 0;
  waitpid(pid, &status, 0);
  if (output) *output = slurp(dir.file("out")) + slurp(dir.file("err"));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

CommandRun::CommandRun(std::vector<std::string> args, ProxyProcess::Env env) {
  std::vector<std::string> argv{PB_BINARY_PATH};
  for (auto& a : args) argv.push_back(std::move(a));
  pid_ = spawn(argv, dir_.file("out"), dir_.file("err"), env);
}

CommandRun::~CommandRun() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
  }
  std::string err = stderr_text();
  if (err.find("Sanitizer") != std::string::npos ||
      err.find("runtime error:") != std::string::npos) {
    ADD_FAILURE() << "sanitizer report from pollbridge:\n" << err;
  }
}

int CommandRun::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      return exit_status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string CommandRun::stdout_text() const {
  return slurp(dir_.file("out"));
}
std::string CommandRun::stderr_text() const {
  return slurp(dir_.file("err"));
}

}  // namespace pb::testing
