#include "stream/memory_store.h"

namespace pb::stream {

std::optional<PersistedState> MemoryStore::load(const std::string& key, const std::string& stream,
                                                std::size_t history) {
  MutexLock lock(mu_);
  auto [it, fresh] = entries_.try_emplace(key);
  Entry& e = it->second;
  if (!fresh && e.owned)
    throw StoreError(StoreErrorKind::kOwned, "key " + key + " is already owned");
  e.owned = true;
  e.expires_ms = 0;
  e.stream = stream;
  if (fresh || e.state.epoch.empty()) return std::nullopt;
  PersistedState out = e.state;
  if (out.history.size() > history) {
    out.history.erase(out.history.begin(),
                      out.history.end() - static_cast<std::ptrdiff_t>(history));
  }
  return out;
}

void MemoryStore::reset(const std::string& key, const std::string& stream,
                        const std::string& epoch) {
  MutexLock lock(mu_);
  Entry& e = entries_[key];
  e.owned = true;
  e.expires_ms = 0;
  e.stream = stream;
  e.state = PersistedState{};
  e.state.epoch = epoch;
}

void MemoryStore::append(const std::string& key, const Commit& c) {
  if (c.events.empty()) return;
  MutexLock lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || !it->second.owned) {
    throw StoreError(StoreErrorKind::kOther, "append to key " + key + " without owning it");
  }
  PersistedState& st = it->second.state;
  st.epoch = c.epoch;
  st.seq = c.events.back()->seq;
  st.doc_seq = c.doc_seq;
  if (c.doc) {
    st.doc = c.doc;
    st.doc_changed_ms = c.doc_changed_ms;
  }
  st.fetched_ms = c.fetched_ms;
  for (const auto& ev : c.events) st.history.push_back(ev);
  std::size_t drop = 0;
  while (drop < st.history.size() && st.history[drop]->seq < c.keep_from) ++drop;
  st.history.erase(st.history.begin(), st.history.begin() + static_cast<std::ptrdiff_t>(drop));
}

void MemoryStore::touch(const std::string& key, std::int64_t fetched_ms) noexcept {
  MutexLock lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) it->second.state.fetched_ms = fetched_ms;
}

void MemoryStore::release(const std::string& key, std::int64_t expires_ms) noexcept {
  MutexLock lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  it->second.owned = false;
  it->second.expires_ms = expires_ms;
}

std::size_t MemoryStore::sweep(std::int64_t now_ms) noexcept {
  MutexLock lock(mu_);
  std::size_t gone = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    if (!e.owned && e.expires_ms != 0 && e.expires_ms <= now_ms) {
      it = entries_.erase(it);
      ++gone;
    } else {
      ++it;
    }
  }
  return gone;
}

std::size_t MemoryStore::forget_streams_except(const std::set<std::string>& streams) noexcept {
  MutexLock lock(mu_);
  std::size_t gone = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    if (!e.owned && streams.count(e.stream) == 0) {
      it = entries_.erase(it);
      ++gone;
    } else {
      ++it;
    }
  }
  return gone;
}

std::size_t MemoryStore::size() const {
  MutexLock lock(mu_);
  return entries_.size();
}

}  // namespace pb::stream
