// ctest-labels: threaded
// An instance destroyed while its coordinator still delivers what another
// process recorded. A shared store's delivery (stream::Follower::on_remote,
// on the store's follower thread) may be in progress until the stream's
// unfollow() returns, and the stream unfollows in its destructor, which runs
// after the poller in front of it is gone (core/poll_chain.h). Found under
// ASan+UBSan in ClusterTest at shutdown: the delivery published through the
// instance, which read its destroyed poller's metrics. The coordinator below
// makes that delivery deterministically, from within unfollow(). Without the
// fix the asan stage aborts here (a null poller); an optimized build reads
// freed memory silently.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "config/loader.h"
#include "core/runtime.h"
#include "json/document.h"
#include "stream/local_coordinator.h"
#include "stream/memory_store.h"
#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

// One process's coordinator, except that the key it watches gets another
// process's state (a new epoch and document) just as its stream unfollows.
class DeliveringCoordinator : public stream::LocalCoordinator {
 public:
  explicit DeliveringCoordinator(std::string key) : key_(std::move(key)) {}
  void unfollow(const std::string& key, stream::Follower* f) noexcept override {
    if (key != key_) return;
    stream::PersistedState st;
    st.epoch = "elsewhere";
    st.seq = 1;
    st.doc_seq = 1;
    st.doc = std::make_shared<const json::Json>(json::parse(R"({"v":9})"));
    f->on_remote(st);
    delivered_.fetch_add(1);
  }
  int delivered() const { return delivered_.load(); }

 private:
  std::string key_;
  std::atomic<int> delivered_{0};
};

std::optional<std::string> no_env(const std::string&) {
  return std::nullopt;
}

TEST(InstanceTeardownTest, ADeliveryDuringTheStreamsUnfollowIsNotPublishedThroughTheInstance) {
  FakeBackend backend;
  backend.set_body(R"({"v":0})", "/doc");
  const config::Config cfg =
      config::parse_config(config_with("  - name: doc\n    url: " + backend.url("/doc") +
                                       "\n    interval: 1h\n    timeout: 10s\n"),
                           "teardown.yaml", config::EnvLookup(no_env));
  auto coordinator = std::make_shared<DeliveringCoordinator>("doc");
  {
    core::Runtime::Options options;
    options.janitor_thread = false;
    core::Runtime rt(cfg, stream::State{std::make_shared<stream::MemoryStore>(), coordinator},
                     options);
    rt.start();
    core::LookupError err;
    auto inst = rt.find("doc", true, &err);
    ASSERT_TRUE(inst);
    ASSERT_TRUE(rt.trigger(inst, 5s));  // polled: the poller has a response time
  }  // the instance goes with the runtime; its stream unfollows last
  EXPECT_EQ(coordinator->delivered(), 1);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
