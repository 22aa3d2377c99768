// The Kubernetes example (examples/kubernetes/): its manifests, parsed with
// yaml-cpp, checked against each other (probes, ports, mounts, the Secret
// behind every ${VAR}, the security context), and the pollbridge config of
// its ConfigMap run by the real binary: `--check` passes with the Secret's
// variables set to dummy values (and fails without them), and a running
// pollbridge answers the probed paths as docs/operations.md says.
#include <httplib.h>
#include <stdlib.h>
#include <yaml-cpp/yaml.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/latch.h"
#include "support/proxy_process.h"
#include "support/util.h"

#ifndef PB_SOURCE_DIR
#error "PB_SOURCE_DIR must name the source tree"
#endif

namespace pb::testing {
namespace PB_FILE_LOCAL {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kExampleDir = fs::path(PB_SOURCE_DIR) / "examples" / "kubernetes";
constexpr const char* kContainer = "pollbridge";

// Every object of every manifest in the example, by kind.
struct Manifests {
  std::multimap<std::string, YAML::Node> by_kind;

  static Manifests load() {
    Manifests m;
    for (const auto& entry : fs::directory_iterator(kExampleDir)) {
      if (entry.path().extension() != ".yaml") continue;
      for (const YAML::Node& doc : YAML::LoadAllFromFile(entry.path().string())) {
        if (doc.IsNull()) continue;
        m.by_kind.emplace(doc["kind"].as<std::string>(), doc);
      }
    }
    return m;
  }
  std::vector<YAML::Node> all(const std::string& kind) const {
    std::vector<YAML::Node> out;
    auto [a, b] = by_kind.equal_range(kind);
    for (auto it = a; it != b; ++it) out.push_back(it->second);
    return out;
  }
  YAML::Node one(const std::string& kind) const {
    auto v = all(kind);
    EXPECT_EQ(v.size(), 1u) << "objects of kind " << kind;
    return v.empty() ? YAML::Node() : v.front();
  }
  YAML::Node named(const std::string& kind, const std::string& name) const {
    for (const auto& n : all(kind)) {
      if (n["metadata"]["name"].as<std::string>() == name) return n;
    }
    return YAML::Node();
  }
};

YAML::Node find_named(const YAML::Node& list, const std::string& name) {
  for (const auto& item : list) {
    if (item["name"] && item["name"].as<std::string>() == name) return item;
  }
  return YAML::Node();
}

// The pollbridge container and its pod spec.
struct Sidecar {
  YAML::Node pod;
  YAML::Node container;
};

Sidecar sidecar(const Manifests& m) {
  Sidecar s;
  s.pod = m.one("Deployment")["spec"]["template"]["spec"];
  s.container = find_named(s.pod["containers"], kContainer);
  return s;
}

// A probe's or a Service's port: a number, or the name of a container port.
int resolve_port(const YAML::Node& container, const YAML::Node& port) {
  if (!port) return -1;
  for (const auto& p : container["ports"]) {
    if (p["name"] && p["name"].as<std::string>() == port.as<std::string>()) {
      return p["containerPort"].as<int>();
    }
  }
  try {
    return port.as<int>();
  } catch (const YAML::Exception&) {
    return -1;
  }
}

std::string arg_after(const YAML::Node& container, const std::string& flag) {
  const YAML::Node& args = container["args"];
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i].as<std::string>() == flag) return args[i + 1].as<std::string>();
  }
  return "";
}

// The text of the pollbridge config: the ConfigMap key that --config names
// through the volume mounted at its directory.
struct MountedConfig {
  std::string text;
  std::string problem;  // empty when found
};

MountedConfig mounted_config(const Manifests& m, const Sidecar& s) {
  fs::path path = arg_after(s.container, "--config");
  if (path.empty()) return {"", "the container passes no --config"};
  for (const auto& mount : s.container["volumeMounts"]) {
    if (mount["mountPath"].as<std::string>() != path.parent_path().string()) continue;
    YAML::Node volume = find_named(s.pod["volumes"], mount["name"].as<std::string>());
    if (!volume["configMap"]) return {"", "the config's volume is not a ConfigMap"};
    YAML::Node cm = m.named("ConfigMap", volume["configMap"]["name"].as<std::string>());
    if (!cm) return {"", "no ConfigMap named by the config volume"};
    YAML::Node data = cm["data"][path.filename().string()];
    if (!data) return {"", "the ConfigMap has no key " + path.filename().string()};
    return {data.as<std::string>(), ""};
  }
  return {"", "no volume is mounted at " + path.parent_path().string()};
}

// ${NAME} references without a default (`${NAME:-x}` and `$${` need none).
std::set<std::string> required_variables(const std::string& text) {
  static const std::regex kRef(R"((\$?)\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\})");
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), kRef), end; it != end; ++it) {
    if ((*it)[1].length() == 0 && !(*it)[3].matched) out.insert((*it)[2]);
  }
  return out;
}

// Environment variables set for the duration of a test, restored afterwards
// (set before any pollbridge child is spawned, which inherits them).
class ScopedEnv {
 public:
  void set(const std::string& name, const std::string& value) {
    const char* old = std::getenv(name.c_str());
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  void unset(const std::string& name) {
    const char* old = std::getenv(name.c_str());
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    ::unsetenv(name.c_str());
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) {
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        ::unsetenv(it->first.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Sets every variable the container takes from a Secret to a dummy value.
void set_secret_variables(const Sidecar& s, ScopedEnv& env) {
  for (const auto& e : s.container["env"]) {
    if (e["valueFrom"]["secretKeyRef"]) {
      env.set(e["name"].as<std::string>(), "dummy-" + e["name"].as<std::string>());
    }
  }
}

TEST(KubernetesExample, HoldsTheDeploymentServiceConfigMapAndSecret) {
  Manifests m = Manifests::load();
  for (const char* kind : {"Deployment", "Service", "ConfigMap", "Secret"}) {
    EXPECT_EQ(m.all(kind).size(), 1u) << kind;
  }
  Sidecar s = sidecar(m);
  ASSERT_TRUE(s.container) << "no container named " << kContainer;
  EXPECT_GE(s.pod["containers"].size(), 2u) << "pollbridge is a sidecar beside the app";
}

TEST(KubernetesExample, ProbesPointAtHealthzAndReadyzOnTheListenPort) {
  Manifests m = Manifests::load();
  Sidecar s = sidecar(m);
  ASSERT_TRUE(s.container);
  MountedConfig cfg = mounted_config(m, s);
  ASSERT_EQ(cfg.problem, "");
  std::string listen = YAML::Load(cfg.text)["server"]["listen"].as<std::string>();
  std::size_t colon = listen.rfind(':');
  int listen_port = std::stoi(listen.substr(colon + 1));
  std::string host = listen.substr(0, colon);
  // The kubelet probes the pod's IP: a loopback listener would fail them.
  EXPECT_TRUE(host == "0.0.0.0" || host == "[::]") << "listen " << listen;

  YAML::Node live = s.container["livenessProbe"]["httpGet"];
  YAML::Node ready = s.container["readinessProbe"]["httpGet"];
  ASSERT_TRUE(live) << "no HTTP liveness probe";
  ASSERT_TRUE(ready) << "no HTTP readiness probe";
  EXPECT_EQ(live["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(ready["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(resolve_port(s.container, live["port"]), listen_port);
  EXPECT_EQ(resolve_port(s.container, ready["port"]), listen_port);
}

TEST(KubernetesExample, ServiceSelectsThePodsAndTargetsPollbridge) {
  Manifests m = Manifests::load();
  Sidecar s = sidecar(m);
  ASSERT_TRUE(s.container);
  YAML::Node svc = m.one("Service");
  YAML::Node labels = m.one("Deployment")["spec"]["template"]["metadata"]["labels"];
  for (const auto& kv : svc["spec"]["selector"]) {
    ASSERT_TRUE(labels[kv.first.as<std::string>()]) << kv.first.as<std::string>();
    EXPECT_EQ(labels[kv.first.as<std::string>()].as<std::string>(), kv.second.as<std::string>());
  }
  MountedConfig cfg = mounted_config(m, s);
  ASSERT_EQ(cfg.problem, "");
  std::string listen = YAML::Load(cfg.text)["server"]["listen"].as<std::string>();
  int listen_port = std::stoi(listen.substr(listen.rfind(':') + 1));
  ASSERT_EQ(svc["spec"]["ports"].size(), 1u);
  EXPECT_EQ(resolve_port(s.container, svc["spec"]["ports"][0]["targetPort"]), listen_port);
}

TEST(KubernetesExample, ConfigFromTheConfigMapAndStateOnAVolume) {
  Manifests m = Manifests::load();
  Sidecar s = sidecar(m);
  ASSERT_TRUE(s.container);
  MountedConfig cfg = mounted_config(m, s);
  ASSERT_EQ(cfg.problem, "");
  std::string state_dir = YAML::Load(cfg.text)["state"]["dir"].as<std::string>();
  std::set<std::string> writable;  // mount paths of emptyDir / PVC volumes
  for (const auto& mount : s.container["volumeMounts"]) {
    YAML::Node v = find_named(s.pod["volumes"], mount["name"].as<std::string>());
    if ((v["emptyDir"] || v["persistentVolumeClaim"]) && !mount["readOnly"]) {
      writable.insert(mount["mountPath"].as<std::string>());
    }
  }
  EXPECT_EQ(writable.count(state_dir), 1u) << "state.dir " << state_dir << " is not on a volume";
  // SQLite may need a temporary file; the root filesystem is read-only.
  EXPECT_EQ(writable.count("/tmp"), 1u) << "no writable /tmp";
}

TEST(KubernetesExample, EveryVariableOfTheConfigComesFromTheSecret) {
  Manifests m = Manifests::load();
  Sidecar s = sidecar(m);
  ASSERT_TRUE(s.container);
  MountedConfig cfg = mounted_config(m, s);
  ASSERT_EQ(cfg.problem, "");
  std::set<std::string> vars = required_variables(cfg.text);
  EXPECT_EQ(vars, (std::set<std::string>{"LEGACY_TOKEN", "PB_ADMIN_TOKEN"}));
  for (const auto& var : vars) {
    YAML::Node e = find_named(s.container["env"], var);
    ASSERT_TRUE(e) << var << " is not in the container's env";
    YAML::Node ref = e["valueFrom"]["secretKeyRef"];
    ASSERT_TRUE(ref) << var << " does not come from a Secret";
    YAML::Node secret = m.named("Secret", ref["name"].as<std::string>());
    ASSERT_TRUE(secret) << "no Secret " << ref["name"].as<std::string>();
    std::string key = ref["key"].as<std::string>();
    EXPECT_TRUE(secret["stringData"][key] || secret["data"][key]) << "Secret lacks " << key;
  }
  // No secret text in the ConfigMap itself.
  YAML::Node secret = m.one("Secret");
  for (const auto& kv : secret["stringData"]) {
    EXPECT_EQ(cfg.text.find(kv.second.as<std::string>()), std::string::npos);
  }
}

TEST(KubernetesExample, ContainerIsLockedDownAndBounded) {
  Manifests m = Manifests::load();
  Sidecar s = sidecar(m);
  ASSERT_TRUE(s.container);
  YAML::Node pod_sc = s.pod["securityContext"];
  YAML::Node sc = s.container["securityContext"];
  EXPECT_TRUE(pod_sc["runAsNonRoot"].as<bool>(false) || sc["runAsNonRoot"].as<bool>(false));
  EXPECT_NE(pod_sc["runAsUser"].as<int>(0), 0);
  EXPECT_TRUE(sc["readOnlyRootFilesystem"].as<bool>(false));
  EXPECT_FALSE(sc["allowPrivilegeEscalation"].as<bool>(true));
  ASSERT_TRUE(sc["capabilities"]["drop"]);
  EXPECT_EQ(sc["capabilities"]["drop"].size(), 1u);
  EXPECT_EQ(sc["capabilities"]["drop"][0].as<std::string>(), "ALL");
  EXPECT_FALSE(sc["capabilities"]["add"]);
  EXPECT_TRUE(s.container["resources"]["requests"]["cpu"]);
  EXPECT_TRUE(s.container["resources"]["requests"]["memory"]);
  EXPECT_TRUE(s.container["resources"]["limits"]["memory"]);

  // A stop gets server.shutdown_timeout, plus pollbridge's own 1 s, before
  // the kubelet's SIGKILL.
  MountedConfig cfg = mounted_config(m, s);
  ASSERT_EQ(cfg.problem, "");
  std::string shutdown = YAML::Load(cfg.text)["server"]["shutdown_timeout"].as<std::string>();
  ASSERT_EQ(shutdown.back(), 's') << "shutdown_timeout " << shutdown << " (expected seconds)";
  int shutdown_s = std::stoi(shutdown.substr(0, shutdown.size() - 1));
  EXPECT_GT(s.pod["terminationGracePeriodSeconds"].as<int>(30), shutdown_s + 1);
}

TEST(KubernetesExample, ConfigPassesCheckOnlyWithTheSecretsSet) {
  Manifests m = Manifests::load();
  Sidecar s = sidecar(m);
  ASSERT_TRUE(s.container);
  MountedConfig cfg = mounted_config(m, s);
  ASSERT_EQ(cfg.problem, "");
  TempDir dir;
  dir.write("pollbridge.yaml", cfg.text);

  std::string out;
  {
    ScopedEnv env;
    set_secret_variables(s, env);
    EXPECT_EQ(run_pollbridge({"--check", "--config", dir.file("pollbridge.yaml")}, &out), 0) << out;
    EXPECT_NE(out.find("ok (1 streams)"), std::string::npos) << out;
  }
  {
    ScopedEnv env;
    env.unset("LEGACY_TOKEN");
    env.unset("PB_ADMIN_TOKEN");
    EXPECT_EQ(run_pollbridge({"--check", "--config", dir.file("pollbridge.yaml")}, &out), 1) << out;
    EXPECT_NE(out.find("LEGACY_TOKEN is not set"), std::string::npos) << out;
  }
}

// The ConfigMap's config, run: only what cannot work outside a pod changes
// (the upstream is the fake backend instead of the app on 127.0.0.1:8000,
// state in a temporary folder, any free loopback port).
TEST(KubernetesExample, ProbedPathsAnswerAsDocumented) {
  Manifests m = Manifests::load();
  Sidecar s = sidecar(m);
  ASSERT_TRUE(s.container);
  MountedConfig cfg = mounted_config(m, s);
  ASSERT_EQ(cfg.problem, "");

  FakeBackend backend;
  Latch first_poll;
  std::atomic<bool> authorized{false};
  backend.set_handler([&](const httplib::Request& req, httplib::Response& res) {
    first_poll.wait();
    if (req.get_header_value("Authorization") == "Bearer dummy-LEGACY_TOKEN") authorized = true;
    res.set_content(R"([{"id":1,"state":"new"}])", "application/json");
  });

  TempDir state;
  YAML::Node config = YAML::Load(cfg.text);
  std::string url = config["streams"][0]["url"].as<std::string>();
  std::string path = url.substr(url.find('/', url.find("//") + 2));
  config["streams"][0]["url"] = backend.url(path);
  config["state"]["dir"] = state.path();
  YAML::Emitter emitted;
  emitted << config;

  ScopedEnv env;
  set_secret_variables(s, env);
  ProxyProcess proxy(emitted.c_str(), {"--listen", "127.0.0.1:0"});
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  httplib::Client c("127.0.0.1", proxy.port());

  // Before the first poll has finished: alive, not ready.
  ASSERT_TRUE(first_poll.reached());
  auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto ready = c.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_NE(ready->body.find("\"pending\":[\"orders\"]"), std::string::npos) << ready->body;

  first_poll.open();
  EXPECT_TRUE(wait_until([&] {
    auto r = c.Get("/readyz");
    return r && r->status == 200;
  }));
  EXPECT_TRUE(authorized) << "the Secret's token did not reach the upstream";
  auto doc = c.Get("/streams/orders");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->status, 200);
  EXPECT_NE(doc->body.find(R"("state":"new")"), std::string::npos) << doc->body;
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
