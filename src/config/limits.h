// Accepted ranges of config values. They exist to catch typos (an extra
// zero, a unit forgotten), not to tune anything; docs/configuration.md lists
// them. Internal to the loader.
//
// Threads: constants; any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "config/config.h"

namespace pb::config::limits {

constexpr long long kMaxWorkers = 256;
constexpr long long kMaxHubThreads = 64;
constexpr long long kMaxBacklog = 65535;
constexpr long long kMaxClients = 10'000'000;
constexpr long long kMaxConnections = 10'000'000;
constexpr long long kMaxPendingAdmissions = 1'000'000;
// server.ipv6_prefix: bits of an IPv6 address that name one client.
constexpr long long kMinIpv6Prefix = 1;
constexpr long long kMaxIpv6Prefix = 128;
constexpr Duration kMinHeaderTimeout = Duration(10);
constexpr Duration kMaxHeaderTimeout = std::chrono::hours(1);
constexpr std::uint64_t kMinHeaderBytes = 1ull << 10;
constexpr std::uint64_t kMaxHeaderBytes = 1ull << 20;
constexpr Duration kMaxKeepaliveTimeout = std::chrono::hours(1);
constexpr long long kMaxKeepaliveRequests = 1'000'000;
constexpr std::uint64_t kMaxRequestBody = 1ull << 30;
constexpr long long kMaxClientBacklogEvents = 1'000'000;
constexpr std::uint64_t kMinClientBacklogBytes = 1ull << 10;
constexpr std::uint64_t kMaxClientBacklogBytes = 1ull << 30;
constexpr long long kMaxHistory = 1'000'000;
constexpr std::uint64_t kMinHistoryBytes = 1ull << 10;
constexpr std::uint64_t kMaxHistoryBytes = 1ull << 36;
constexpr long long kMaxInstances = 1'000'000;
constexpr std::uint64_t kMinMaxBody = 1ull << 10;
constexpr std::uint64_t kMaxMaxBody = 1ull << 30;
constexpr std::uint64_t kMinMaxHeaderBytes = 1ull << 10;
constexpr std::uint64_t kMaxMaxHeaderBytes = 1ull << 20;
constexpr long long kMaxConnectionsPerHost = 1024;
constexpr Duration kMinHeartbeat = std::chrono::seconds(1);
constexpr Duration kMaxHeartbeat = std::chrono::hours(1);
constexpr Duration kMaxRetry = std::chrono::hours(1);
constexpr Duration kMinLongPollTimeout = std::chrono::seconds(1);
constexpr Duration kMaxLongPollTimeout = std::chrono::minutes(5);
constexpr Duration kMaxShutdownTimeout = std::chrono::minutes(10);
constexpr Duration kMinInterval = Duration(10);
constexpr Duration kMaxInterval = std::chrono::hours(24);
constexpr Duration kMinTimeout = Duration(10);
constexpr Duration kMaxTimeout = std::chrono::minutes(10);
constexpr Duration kMaxLinger = std::chrono::hours(24);
constexpr Duration kMaxBackoff = std::chrono::hours(24);
constexpr Duration kMaxRetention = std::chrono::hours(24 * 365);
// backoff_max when the stream does not set it: this, or the interval if
// that is longer.
constexpr Duration kDefaultBackoffMax = std::chrono::seconds(60);
// auth.jwt.leeway: clock skew tolerated on exp, nbf and iat. More than a
// few minutes would keep expired tokens alive.
constexpr Duration kMaxLeeway = std::chrono::minutes(5);
// A static bearer token (auth.tokens) shorter than this is guessable.
constexpr std::size_t kMinStaticTokenLength = 16;
// A PEM public key or certificate is a few KiB; anything larger is not one.
constexpr std::size_t kMaxKeyFileBytes = 64u << 10;
// streams[].forward_headers: each is part of every per-user instance key.
constexpr std::size_t kMaxForwardHeaders = 16;
// Stream names become URL segments and metric labels.
constexpr std::size_t kMaxNameLength = 64;
// state.lease: renewed every third of it, so it must leave room for a few
// Redis round trips; failover waits about this long, so not minutes.
constexpr Duration kMinLease = Duration(500);
constexpr Duration kMaxLease = std::chrono::minutes(1);
// state.prefix: part of every Redis key.
constexpr std::size_t kMaxPrefixBytes = 256;

}  // namespace pb::config::limits
