#include "upstream/startup_checks.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>

#include "config/url.h"
#include "log/log.h"
#include "upstream/proxy_env.h"
#include "upstream/url.h"

namespace pb::upstream {
namespace {

struct OriginUse {
  std::size_t cap = static_cast<std::size_t>(-1);
  std::size_t instances = 0;
};

}  // namespace

DescriptorNeed descriptors_needed(const config::Config& cfg) {
  std::map<std::string, OriginUse> origins;
  for (const auto& s : cfg.streams) {
    config::UrlParts parts;
    std::string why;
    if (!config::parse_url(s.url, parts, why)) continue;
    Url url{parts.scheme, parts.host,
            parts.port ? parts.port : (parts.scheme == "https" ? 443 : 80), "/"};
    OriginUse& use = origins[url.origin()];
    use.cap = std::min(use.cap, s.max_connections_per_host);
    use.instances += s.params.empty() ? 1 : s.max_instances;
  }
  DescriptorNeed need;
  for (const auto& [origin, use] : origins) need.upstream += std::min(use.cap, use.instances);
  need.clients = cfg.server.max_clients;
  need.spare = kDescriptorHeadroom + cfg.server.workers;
  return need;
}

std::size_t ensure_descriptor_limit(const config::Config& cfg) {
  const DescriptorNeed need = descriptors_needed(cfg);
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  const rlim_t wanted = static_cast<rlim_t>(need.total());
  if (lim.rlim_cur < wanted && lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = std::min(wanted, lim.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      log::info("raised the open-file limit",
                {{"from", static_cast<std::uint64_t>(lim.rlim_cur)},
                 {"to", static_cast<std::uint64_t>(raised.rlim_cur)}});
      lim = raised;
    } else {
      log::warn("cannot raise the open-file limit", {{"error", std::strerror(errno)}});
    }
  }
  if (lim.rlim_cur < wanted) {
    log::warn(
        "the open-file limit is below what the config may need: past it, new clients and "
        "upstream connections fail (reported as out of file descriptors); raise the hard limit "
        "(ulimit -Hn, systemd LimitNOFILE) or lower server.max_clients",
        {{"limit", static_cast<std::uint64_t>(lim.rlim_cur)},
         {"hard_limit", static_cast<std::uint64_t>(lim.rlim_max)},
         {"needed", need.total()},
         {"clients", need.clients},
         {"upstream_connections", need.upstream},
         {"spare", need.spare},
         {"short", static_cast<std::uint64_t>(wanted - lim.rlim_cur)}});
  }
  return static_cast<std::size_t>(lim.rlim_cur);
}

void log_upstream_settings(const config::Config& cfg) {
  const ProxySetting& proxy = proxy_from_environment();
  for (const auto& s : cfg.streams) {
    const bool https = s.url.rfind("https:", 0) == 0;
    if (!s.tls_verify) {
      log::warn(https ? "tls_verify is false: this stream's upstream certificate is not verified, "
                        "so anyone on the path can impersonate it"
                      : "tls_verify is false (no effect on an http upstream, which has no TLS)",
                {{"stream", s.name}, {"where", s.where}});
    }
    const std::string& via = proxy.for_scheme(https ? "https" : "http");
    if (!via.empty()) {
      log::info(
          "upstream requests may go through a proxy (from the environment)",
          {{"stream", s.name}, {"proxy", without_userinfo(via)}, {"no_proxy", proxy.no_proxy}});
    }
  }
}

}  // namespace pb::upstream
