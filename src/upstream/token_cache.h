// OAuth2 access tokens (client credentials, RFC 6749 section 4.4) shared by
// every stream and instance of the process that uses the same token URL,
// client, scope and audience: a token is reused until `expires_in` minus a
// margin (10 % of it, at most 60 s), and at most one token request per key
// is in flight. A poll that finds one in flight waits for it (its poller
// looks again shortly, holding no thread); a request whose owner vanished
// is taken over once the owner's deadline passed.
//
// The tokens are secrets: nothing here logs or exposes them.
//
// Threads: any; one mutex.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "common/mutex.h"

namespace pb::upstream {

class TokenCache {
 public:
  using SteadyClock = std::chrono::steady_clock;

  // The process's cache.
  static TokenCache& shared();

  enum class Verdict {
    kUse,     // `token` is valid
    kFetch,   // the caller sends the token request now (and reports back)
    kWait,    // another poll's token request is in flight: look again shortly
    kFailed,  // the request this caller waited for failed: `reason`
  };
  struct Acquired {
    Verdict verdict = Verdict::kFetch;
    std::string token;
    std::string reason;
  };

  // `waiting_since`: when the caller's poll began (a failure after that is
  // its failure too); `deadline`: the caller's poll deadline, after which a
  // request it owns is considered abandoned.
  Acquired acquire(const std::string& key, SteadyClock::time_point now,
                   SteadyClock::time_point waiting_since, SteadyClock::time_point deadline);
  // The owner's request succeeded. `expires_in`: nullopt if the answer did
  // not say (then the token is used until the upstream refuses it).
  void stored(const std::string& key, std::string token,
              std::optional<std::chrono::seconds> expires_in, SteadyClock::time_point now);
  // The owner's request failed with `reason`.
  void failed(const std::string& key, std::string reason, SteadyClock::time_point now);
  // The owner gave up without an answer (its poll was removed).
  void released(const std::string& key);
  // The upstream refused `token` (401): it is not used again.
  void invalidate(const std::string& key, const std::string& token);

  // How long before expiry a token is renewed.
  static std::chrono::milliseconds margin(std::chrono::seconds expires_in);

 private:
  struct Entry {
    std::string token;
    std::optional<SteadyClock::time_point> renew_at;  // nullopt: until refused
    bool in_flight = false;
    SteadyClock::time_point in_flight_until;
    std::string failure;
    SteadyClock::time_point failed_at;
  };
  Mutex mu_;
  std::map<std::string, Entry> entries_ PB_GUARDED_BY(mu_);
};

// How often a poll waiting for another poll's token request looks again.
constexpr std::chrono::milliseconds kTokenWaitRecheck{20};

}  // namespace pb::upstream
