// `pollbridge probe` through the real binary against a fake backend: the
// document a JSON stream would publish (select, ignore, number text kept),
// the events of a second poll (a JSON Patch; CSV rows as item events), the
// --json object's shape, a 500, a parse error with its place, a timeout, a
// broken config with file:line:col, a parameterized stream's --param, a
// per-user stream's --forward, and that a probe binds no port and leaves
// the state directory uncreated. Every probe is one short process.
#include <dirent.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using Plain = nlohmann::json;

const char kCsv0[] = "id,name,qty\r\n1,spoons,3\r\n2,forks,4\r\n3,cups,1\r\n";
// 1 removed, 2 changed, 4 added.
const char kCsv1[] = "id,name,qty\r\n2,forks,5\r\n3,cups,1\r\n4,mugs,2\r\n";

// The sockets of `pid` that listen (TCP, v4 or v6): its descriptors'
// socket inodes looked up in /proc/net/tcp{,6}, state 0A.
int listening_sockets(pid_t pid) {
  std::set<std::string> inodes;
  const std::string fds = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* d = opendir(fds.c_str())) {
    while (dirent* e = readdir(d)) {
      char target[256];
      ssize_t n = readlink((fds + "/" + e->d_name).c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      std::string t(target, static_cast<std::size_t>(n));
      if (t.rfind("socket:[", 0) == 0) inodes.insert(t.substr(8, t.size() - 9));
    }
    closedir(d);
  }
  int listening = 0;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
      fields >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >>
          inode;
      if (state == "0A" && inodes.count(inode)) ++listening;
    }
  }
  return listening;
}

std::vector<std::string> dir_entries(const std::string& path) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(path)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

class ProbeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    backend_ = new FakeBackend();
    backend_->set_handler([](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock<std::mutex> lock(mu_);
      const unsigned n = ++hits_[req.path];
      if (req.path == "/shop") {
        res.set_content(R"({"data":{"items":[{"sku":"a1","price":1.50}],"stamp":17},"ver":3})",
                        "application/json");
      } else if (req.path == "/ticker") {
        res.set_content(padded(R"({"n":)" + std::to_string(n) + "}"), "application/json");
      } else if (req.path == "/export.csv") {
        res.set_content(n == 1 ? kCsv0 : kCsv1, "text/csv; charset=utf-8");
      } else if (req.path == "/fail") {
        res.status = 500;
        res.set_content("no", "text/plain");
      } else if (req.path == "/bad") {
        res.set_content(R"({"a": [1, 2,}])", "application/json");
      } else if (req.path.rfind("/items/", 0) == 0) {
        res.set_content(R"({"item":")" + req.path.substr(7) + R"("})", "application/json");
      } else if (req.path == "/mine") {
        res.set_content(Plain{{"auth", req.get_header_value("Authorization").size()}}.dump(),
                        "application/json");
      } else if (req.path == "/held") {
        // Answers once the test releases it (or after a while).
        held_ = true;
        cv_.notify_all();
        cv_.wait_for(lock, 10s, [] { return release_; });
        res.set_content(R"({"held":true})", "application/json");
      } else if (req.path == "/slow") {
        // Answers after the probe's timeout (at the latest at teardown).
        cv_.wait_for(lock, 5s, [] { return teardown_; });
        res.set_content("{}", "application/json");
      } else {
        res.status = 404;
      }
    });
    dir_ = new TempDir();
    const std::string url = "http://127.0.0.1:" + std::to_string(backend_->port());
    dir_->write("pollbridge.yaml",
                "server:\n  listen: \"127.0.0.1:0\"\n"
                "state: { dir: \"" +
                    state_dir() +
                    "\" }\n"
                    "streams:\n"
                    "  - name: shop\n    url: " +
                    url +
                    "/shop\n    select: /data\n    ignore: [/stamp]\n"
                    "  - name: ticker\n    url: " +
                    url +
                    "/ticker\n    interval: 1h\n"
                    "  - name: export\n    url: " +
                    url +
                    "/export.csv\n    parse: csv\n    diff: items\n    key: id\n"
                    "  - name: failing\n    url: " +
                    url +
                    "/fail\n"
                    "  - name: broken\n    url: " +
                    url +
                    "/bad\n"
                    "  - name: item\n    url: " +
                    url +
                    "/items/{id}\n    path: /events/item/{id}\n"
                    "    params: { id: \"[0-9]+\" }\n"
                    "  - name: mine\n    url: " +
                    url +
                    "/mine\n    forward_headers: [Authorization]\n"
                    "  - name: held\n    url: " +
                    url + "/held\n    timeout: " + std::to_string(2000 * kSlowdown) +
                    "ms\n"
                    "  - name: slow\n    url: " +
                    url + "/slow\n    timeout: 100ms\n");
  }
  static void TearDownTestSuite() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      release_ = true;
      teardown_ = true;
    }
    cv_.notify_all();
    delete backend_;
    delete dir_;
    backend_ = nullptr;
    dir_ = nullptr;
  }
  static std::string state_dir() { return dir_->file("state-never-made"); }

  // `pollbridge probe --config <the config> args...`, run to its end.
  struct Result {
    int code = -1;
    std::string out, err;
  };
  static Result probe(std::vector<std::string> args, const std::string& config = "") {
    std::vector<std::string> argv{"probe", "--config",
                                  config.empty() ? dir_->file("pollbridge.yaml") : config};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandRun run(argv);
    Result r;
    r.code = run.wait();
    r.out = run.stdout_text();
    r.err = run.stderr_text();
    return r;
  }
  static unsigned hits(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    return hits_[path];
  }

  static FakeBackend* backend_;
  static TempDir* dir_;
  static std::mutex mu_;
  static std::condition_variable cv_;
  static std::map<std::string, unsigned> hits_;
  static bool held_;
  static bool release_;
  static bool teardown_;
};
FakeBackend* ProbeTest::backend_ = nullptr;
TempDir* ProbeTest::dir_ = nullptr;
std::mutex ProbeTest::mu_;
std::condition_variable ProbeTest::cv_;
std::map<std::string, unsigned> ProbeTest::hits_;
bool ProbeTest::held_ = false;
bool ProbeTest::release_ = false;
bool ProbeTest::teardown_ = false;

TEST_F(ProbeTest, PrintsTheSelectedDocumentWithoutIgnoredMembers) {
  Result r = probe({"shop"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Plain::parse(r.out), Plain::parse(R"({"items":[{"sku":"a1","price":1.5}]})"));
  // Numbers keep their text, as the proxy publishes them; pretty printed.
  EXPECT_NE(r.out.find("\"price\": 1.50"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n    {\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(ProbeTest, SecondPollPrintsTheEventsOfTheChangeAsJson) {
  const unsigned before = hits("/ticker");
  Result r = probe({"ticker", "--polls", "2", "--interval", "10ms", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(hits("/ticker"), before + 2);
  Plain j = Plain::parse(r.out);
  // One object: the stream, the document, the later polls' events, the status.
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"stream", "address", "document", "events", "status"}));
  EXPECT_EQ(j["stream"], "ticker");
  EXPECT_EQ(j["document"]["n"], before + 1);
  ASSERT_EQ(j["events"].size(), 1u) << r.out;
  const Plain& ev = j["events"][0];
  EXPECT_EQ(ev["poll"], 2);
  EXPECT_EQ(ev["event"], "patch");
  EXPECT_TRUE(std::regex_match(ev["id"].get<std::string>(), std::regex("[0-9a-z]+-2"))) << ev["id"];
  EXPECT_EQ(ev["data"], Plain::parse(R"([{"op":"replace","path":"/n","value":)" +
                                     std::to_string(before + 2) + "}]"));
  EXPECT_EQ(j["status"], Plain::parse(R"({"ok":true,"polls":2})"));
}

TEST_F(ProbeTest, CsvRowsChangingGiveItemEvents) {
  Result r = probe({"export", "--polls", "2", "--interval", "10ms"});
  ASSERT_EQ(r.code, 0) << r.err;
  // The text form: the document, then the second poll's events.
  const auto split = r.out.find("\n# poll 2: 3 events\n");
  ASSERT_NE(split, std::string::npos) << r.out;
  Plain doc = Plain::parse(r.out.substr(0, split));
  ASSERT_EQ(doc.size(), 3u);
  EXPECT_EQ(doc[1], Plain::parse(R"({"id":"2","name":"forks","qty":"4"})"));
  const std::string events = r.out.substr(split);
  EXPECT_NE(events.find("event: deleted\n"), std::string::npos) << events;
  EXPECT_NE(events.find("event: updated\n"), std::string::npos) << events;
  EXPECT_NE(events.find("event: created\n"), std::string::npos) << events;
  EXPECT_NE(events.find("\"mugs\""), std::string::npos) << events;
}

TEST_F(ProbeTest, UpstreamErrorExitsNonZeroWithItsStatus) {
  Result r = probe({"failing", "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("500"), std::string::npos) << r.err;
  Plain j = Plain::parse(r.out);
  EXPECT_TRUE(j["document"].is_null());
  EXPECT_EQ(j["status"]["ok"], false);
  EXPECT_EQ(j["status"]["http_status"], 500);
  EXPECT_EQ(j["status"]["poll"], 1);
  EXPECT_NE(j["status"]["reason"].get<std::string>().find("500"), std::string::npos);
}

TEST_F(ProbeTest, ParseErrorNamesItsPlace) {
  Result r = probe({"broken"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("not JSON (at byte 13)"), std::string::npos) << r.err;
}

TEST_F(ProbeTest, TimeoutIsAFailedPoll) {
  Result r = probe({"slow", "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("timeout: no complete response within 100ms"), std::string::npos) << r.err;
  EXPECT_NE(Plain::parse(r.out)["status"]["reason"].get<std::string>().find("timeout"),
            std::string::npos);
}

TEST_F(ProbeTest, BadConfigNamesFileLineAndColumn) {
  dir_->write("broken.yaml",
              "streams:\n  - name: x\n    url: http://127.0.0.1:1/\n    diff: sideways\n");
  Result r = probe({"x"}, dir_->file("broken.yaml"));
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("broken.yaml:4:11"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(ProbeTest, ParameterizedStreamTakesItsParameters) {
  Result r = probe({"item", "--param", "id=42"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Plain::parse(r.out), Plain::parse(R"({"item":"42"})"));
  EXPECT_EQ(hits("/items/42"), 1u);

  Result missing = probe({"item"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("needs a value for its parameter id"), std::string::npos)
      << missing.err;
  Result refused = probe({"item", "--param", "id=abc"});
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.err.find("does not match its pattern"), std::string::npos) << refused.err;
  Result unknown = probe({"item", "--param", "id=1", "--param", "color=red"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("no parameter color"), std::string::npos) << unknown.err;
  EXPECT_EQ(hits("/items/abc"), 0u);
}

TEST_F(ProbeTest, PerUserStreamIsPolledWithTheForwardedValues) {
  Result r = probe({"mine", "--forward", "authorization=Bearer s3cret-value"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Plain::parse(r.out)["auth"], std::string("Bearer s3cret-value").size());
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos);
  Result other = probe({"shop", "--forward", "Authorization=x"});
  EXPECT_EQ(other.code, 2);
  EXPECT_NE(other.err.find("forwards no request headers"), std::string::npos) << other.err;
}

TEST_F(ProbeTest, BindsNoPortAndMakesNoStateDirectory) {
  const auto files = dir_entries(dir_->path());
  CommandRun run({"probe", "--config", dir_->file("pollbridge.yaml"), "held"});
  {
    std::unique_lock<std::mutex> lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, 10s, [] { return held_; }));
  }
  // The probe is waiting for its answer: everything it opened is open.
  EXPECT_EQ(listening_sockets(run.pid()), 0);
  EXPECT_GE(listening_sockets(getpid()), 1);  // the fake backend: the check sees listeners
  {
    std::lock_guard<std::mutex> lock(mu_);
    release_ = true;
  }
  cv_.notify_all();
  EXPECT_EQ(run.wait(), 0) << run.stderr_text();
  EXPECT_EQ(Plain::parse(run.stdout_text()), Plain::parse(R"({"held":true})"));
  EXPECT_FALSE(std::filesystem::exists(state_dir()));
  EXPECT_EQ(dir_entries(dir_->path()), files);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
