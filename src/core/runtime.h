// The running proxy: every stream instance with its poller and hub feed,
// parameterized instances made on demand, multiplexed channels, and the
// attachment of client sockets to them. The HTTP layer (server/) calls in
// here; main() builds one from the config.
//
// Threads: every public method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "hub/hub.h"
#include "stream/store.h"
#include "stream/stream.h"
#include "upstream/poller.h"
#include "upstream/scheduler.h"

namespace pb::core {

class MuxChannel;

// One configured stream: a plain one, or the template of a parameterized one.
struct StreamTemplate {
  config::StreamConfig cfg;
  std::vector<std::string> segments;  // address segments; "{name}" for params
  std::vector<std::pair<std::string, std::regex>> params;
  bool parameterized() const { return !params.empty(); }
};

// A live stream: a plain stream, or one parameter set of a template.
class Instance : public stream::Listener {
 public:
  Instance(std::string address, std::shared_ptr<const StreamTemplate> tmpl,
           config::StreamConfig cfg, std::size_t history, std::size_t history_bytes,
           stream::Store* store, hub::Hub& hub);
  ~Instance() override;

  const std::string& address() const { return address_; }
  const StreamTemplate& tmpl() const { return *tmpl_; }
  const config::StreamConfig& cfg() const { return cfg_; }
  stream::Stream& stream() { return *stream_; }
  upstream::Poller& poller() { return *poller_; }
  hub::FeedId feed() const { return feed_; }

  // Forwards each published event to the hub (called under the stream lock).
  void on_event(const stream::EventPtr& ev) override;

  std::chrono::steady_clock::time_point last_client() const;
  void touch();

  // Set (under the stream lock) once the instance is being removed: clients
  // must then find its successor instead.
  bool retired_locked() const { return retired_; }
  void retire_locked() { retired_ = true; }

 private:
  std::string address_;
  std::shared_ptr<const StreamTemplate> tmpl_;
  config::StreamConfig cfg_;
  hub::Hub& hub_;
  hub::FeedId feed_;
  std::unique_ptr<stream::Stream> stream_;
  std::unique_ptr<upstream::Poller> poller_;
  std::atomic<std::int64_t> last_client_ns_;
  bool retired_ = false;
};

// What a config reload did, by stream name.
struct ReloadResult {
  std::vector<std::string> kept;     // unchanged: clients, ids and history untouched
  std::vector<std::string> changed;  // replaced: clients reconnect and resume
  std::vector<std::string> added;
  std::vector<std::string> removed;  // clients closed
  std::vector<std::string> ignored;  // settings that need a restart
};

// Why a lookup failed, as the HTTP layer reports it.
struct LookupError {
  int status = 404;
  std::string message;
};

class Runtime {
 public:
  Runtime(const config::Config& cfg, std::unique_ptr<stream::Store> store);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  void start();
  // Closes every client connection (after up to `drain` of pending writes)
  // and stops polling.
  void stop(std::chrono::milliseconds drain);

  // Finds the instance for an address ("orders", "orders/42"); creates a
  // parameterized instance when `create` is set and the values are valid.
  std::shared_ptr<Instance> find(const std::string& address, bool create, LookupError* error);

  // Attaches a client socket (ownership passes to the hub) to one stream.
  // `head` is the HTTP response head. Returns false if the hub refused it.
  bool attach(std::shared_ptr<Instance> inst, int fd, std::string head,
              const std::optional<std::string>& last_id);
  // Attaches a client socket to several streams multiplexed on one
  // connection (composite ids).
  bool attach_mux(const std::vector<std::shared_ptr<Instance>>& insts, int fd, std::string head,
                  const std::optional<std::string>& last_id);

  // Requests an immediate poll; with `wait`, returns once it has finished
  // (false if that took longer than `wait`).
  bool trigger(const std::shared_ptr<Instance>& inst,
               std::optional<std::chrono::milliseconds> wait = std::nullopt);

  // Applies a new config's streams: unchanged streams keep their clients,
  // ids and history; changed ones are replaced (their clients are closed and
  // resume from history on the new instance, whose state continues from the
  // store); removed ones close their clients; added ones start. `server` and
  // `state` settings need a restart and are reported in `ignored`.
  ReloadResult reload(const config::Config& next);

  std::vector<std::shared_ptr<Instance>> instances() const;
  const config::Config& config() const { return cfg_; }
  hub::Hub& hub() { return hub_; }
  upstream::Scheduler& scheduler() { return scheduler_; }
  std::size_t client_limit() const { return cfg_.server.max_clients; }

 private:
  std::shared_ptr<Instance> make_instance(const std::string& address,
                                          const std::shared_ptr<const StreamTemplate>& tmpl,
                                          const std::map<std::string, std::string>& values);
  void janitor();
  void retire(const std::shared_ptr<Instance>& inst);
  std::function<void()> client_closer(const std::shared_ptr<Instance>& inst);

  config::Config cfg_;
  std::unique_ptr<stream::Store> store_;
  hub::Hub hub_;
  upstream::Scheduler scheduler_;

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const StreamTemplate>> templates_;
  std::map<std::string, std::shared_ptr<Instance>> instances_;
  std::map<std::string, std::shared_ptr<MuxChannel>> channels_;
  // Templates whose instances are being replaced: no new instance may be
  // made for them until the old ones have released their state.
  std::vector<std::string> reloading_;
  std::mutex reload_mu_;  // one reload at a time

  std::thread janitor_;
  std::mutex janitor_mu_;
  std::condition_variable janitor_cv_;
  bool stopping_ = false;
};

// Threads that turn upstream responses into events (parse, diff, store
// commit). Requests themselves are all driven by one event-loop thread, so
// no upstream, however slow, holds one of these.
constexpr std::size_t kProcessingThreads = 2;
// Most hub threads chosen automatically (server.hub_threads: 0): fan-out is
// write(2)-bound, and more threads than cores only add contention.
constexpr std::size_t kMaxAutoHubThreads = 4;
// How often the janitor looks for idle parameterized instances and unused
// multiplexed channels.
constexpr std::chrono::seconds kJanitorPeriod{1};

}  // namespace pb::core
