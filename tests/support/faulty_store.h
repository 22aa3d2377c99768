// A real in-process store (stream::MemoryStore) with faults a test can turn
// on: appends that fail with a given kind (a full disk), appends that wait at
// a latch (a slow disk), loads of a key that fail. Everything else is the
// real store.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "stream/memory_store.h"
#include "support/latch.h"

namespace pb::testing {

class FaultyStore : public stream::Store {
 public:
  std::optional<stream::PersistedState> load(const std::string& key, const std::string& stream,
                                             std::size_t history) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (key == fail_load_) throw stream::StoreError(fail_load_kind_, "injected");
    }
    return inner_.load(key, stream, history);
  }
  void reset(const std::string& key, const std::string& stream, const std::string& epoch) override {
    inner_.reset(key, stream, epoch);
  }
  void append(const std::string& key, const stream::Commit& c) override {
    std::shared_ptr<Latch> gate;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (fail_append_)
        throw stream::StoreError(*fail_append_, "injected: no space left on device");
      gate = append_gate_;
    }
    if (gate) gate->wait();
    appends_.fetch_add(1);
    inner_.append(key, c);
  }
  void touch(const std::string& key, std::int64_t ms) noexcept override { inner_.touch(key, ms); }
  void release(const std::string& key, std::int64_t expires) noexcept override {
    inner_.release(key, expires);
  }
  std::size_t sweep(std::int64_t now) noexcept override { return inner_.sweep(now); }
  std::size_t forget_streams_except(const std::set<std::string>& s) noexcept override {
    return inner_.forget_streams_except(s);
  }
  bool persistent() const override { return false; }

  void fail_appends(std::optional<stream::StoreErrorKind> kind) {
    std::lock_guard<std::mutex> l(mu_);
    fail_append_ = kind;
  }
  void gate_appends(std::shared_ptr<Latch> gate) {
    std::lock_guard<std::mutex> l(mu_);
    append_gate_ = std::move(gate);
  }
  void fail_loads_of(const std::string& key, stream::StoreErrorKind kind) {
    std::lock_guard<std::mutex> l(mu_);
    fail_load_ = key;
    fail_load_kind_ = kind;
  }
  std::size_t appends() const { return appends_.load(); }
  stream::MemoryStore& inner() { return inner_; }

 private:
  stream::MemoryStore inner_;
  std::mutex mu_;
  std::optional<stream::StoreErrorKind> fail_append_;
  std::shared_ptr<Latch> append_gate_;
  std::string fail_load_;
  stream::StoreErrorKind fail_load_kind_ = stream::StoreErrorKind::kIo;
  std::atomic<std::size_t> appends_{0};
};

}  // namespace pb::testing
