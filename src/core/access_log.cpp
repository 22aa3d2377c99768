#include "core/access_log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/instance.h"
#include "log/log.h"
#include "log/private_id.h"
#include "log/throttle.h"

namespace pb::core {
namespace {

// Longest Last-Event-ID written to the log: pollbridge's ids are far
// shorter, and a client's 16 KiB header must not become a 16 KiB line.
constexpr std::size_t kMaxLoggedId = 80;

}  // namespace

std::string peer_address(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (fd < 0 || getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "?";
}

AccessInfo access_info(const std::string& client,
                       const std::vector<std::shared_ptr<Instance>>& insts,
                       const std::optional<std::string>& last_id, bool fresh) {
  AccessInfo info;
  info.client = client;
  for (const auto& i : insts) {
    if (!info.stream.empty()) {
      info.stream += ',';
      info.instance += ',';
    }
    info.stream += i->cfg().name;
    // A per-user instance by a digest of its key (address and user), as in
    // every other line about it.
    info.instance += i->per_user() ? log::instance_field(i->key(), true) : i->address();
  }
  info.start = fresh ? "snapshot" : "resume";
  if (last_id) {
    info.last_event_id = last_id->substr(0, kMaxLoggedId);
    if (last_id->size() > kMaxLoggedId) info.last_event_id += "...";
  }
  return info;
}

void log_connect(const AccessInfo& info) {
  if (!log::access_enabled()) return;
  log::info("client connected", {{"client", info.client},
                                 {"stream", info.stream},
                                 {"instance", info.instance},
                                 {"start", info.start},
                                 {"last_event_id", info.last_event_id}});
}

std::function<void(const hub::SessionEnd&)> access_hook(AccessInfo info,
                                                        std::function<void()> then) {
  return [info = std::move(info), then = std::move(then)](const hub::SessionEnd& end) {
    if (then) then();
    const auto duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(end.duration).count();
    if (end.reason == hub::EndReason::kSlow || end.reason == hub::EndReason::kStall) {
      static log::Throttle throttle(log::kRepeatPeriod);
      std::uint64_t suppressed = 0;
      if (throttle.allow(info.stream, log::Throttle::Clock::now(), suppressed)) {
        log::warn("client dropped as slow", {{"client", info.client},
                                             {"stream", info.stream},
                                             {"instance", info.instance},
                                             {"reason", hub::end_reason_name(end.reason)},
                                             {"behind", end.behind},
                                             {"duration_ms", duration_ms},
                                             {"suppressed", suppressed}});
      }
    }
    if (!log::access_enabled()) return;
    log::info("client disconnected", {{"client", info.client},
                                      {"stream", info.stream},
                                      {"instance", info.instance},
                                      {"start", info.start},
                                      {"reason", hub::end_reason_name(end.reason)},
                                      {"duration_ms", duration_ms},
                                      {"events", end.events},
                                      {"bytes", end.bytes}});
  };
}

}  // namespace pb::core
