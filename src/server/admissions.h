// The admissions of the open SSE sessions, kept so that every reload can
// decide them again under the new policy (docs/security.md, "Revocation").
//
// An Admission is what a session was admitted with and what is needed to
// judge it again: the credential it presented (the token, in memory only:
// never logged, never written, gone with the session) and the addresses it
// reads. The hub session holds it (as a hub::Revocable) for as long as it
// is open; this registry holds only weak references, so a closed session's
// admission (and its token) is freed with it.
//
// Races with a reload: admit() reads generation() before the policy; a
// reload swaps the policy, then begin_recheck() moves to the next
// generation and takes the list. An admission added afterwards with an
// older generation may have been decided by the old policy and missed the
// list: add() says so, and the caller judges it once more itself.
//
// Waiting long-polls (server/long_poll.h) use it too: they hold an
// Admission, add() it, and their park watches revoked(); on_revoked()
// listeners are told after every re-check that revoked something (the hub
// closes its marked sessions at once).
//
// Threads: add() and generation() from HTTP workers; begin_recheck() and
// notify_revoked() from the reloading thread; listeners registered before
// the server starts.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "auth/credential_source.h"
#include "common/mutex.h"
#include "hub/revocable.h"

namespace pb::server {

struct Admission : hub::Revocable {
  bool has_credential = false;  // a credential was checked and used
  std::string token;            // that credential; empty without one
  auth::Source source = auth::Source::kNone;
  std::vector<std::string> addresses;  // what the session reads
  std::uint64_t generation = 0;        // Admissions::generation() before it was decided
};

class Admissions {
 public:
  std::uint64_t generation() const;
  // Registers an open session's admission. False when a re-check began
  // since its generation: the caller decides it again itself.
  bool add(const std::shared_ptr<Admission>& admission);
  // Moves to the next generation and returns the admissions still open.
  std::vector<std::shared_ptr<Admission>> begin_recheck();

  void on_revoked(std::function<void()> listener) { listeners_.push_back(std::move(listener)); }
  void notify_revoked() const {
    for (const auto& l : listeners_) l();
  }

 private:
  mutable Mutex mu_;
  std::uint64_t generation_ PB_GUARDED_BY(mu_) = 0;
  std::vector<std::weak_ptr<Admission>> open_ PB_GUARDED_BY(mu_);
  // open_.size() after the last pruning: closed entries are dropped when
  // the list has doubled since (amortized O(1) per add).
  std::size_t pruned_size_ PB_GUARDED_BY(mu_) = 0;
  std::vector<std::function<void()>> listeners_;
};

}  // namespace pb::server
