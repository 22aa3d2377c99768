// What the upstream side reads at start: proxies from the environment and
// the file descriptors a config may need.
#include <gtest/gtest.h>

#include <map>

#include "config/loader.h"
#include "support/file_local.h"
#include "upstream/proxy_env.h"
#include "upstream/startup_checks.h"

namespace pb::upstream {
namespace PB_FILE_LOCAL {

Getenv env_of(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

TEST(ProxyEnvironmentTest, LowerCaseWinsThenUpperCaseThenAllProxy) {
  auto p = read_proxy_environment(env_of({{"http_proxy", "http://a:1"},
                                          {"HTTP_PROXY", "http://b:2"},
                                          {"HTTPS_PROXY", "http://c:3"},
                                          {"NO_PROXY", "localhost,.internal"}}));
  EXPECT_EQ(p.for_scheme("http"), "http://a:1");
  EXPECT_EQ(p.for_scheme("https"), "http://c:3");
  EXPECT_EQ(p.no_proxy, "localhost,.internal");
  p = read_proxy_environment(env_of({{"HTTP_PROXY", "http://b:2"}, {"ALL_PROXY", "http://d:4"}}));
  EXPECT_EQ(p.http, "http://b:2") << "upper-case HTTP_PROXY counts (libcurl alone ignores it)";
  EXPECT_EQ(p.https, "http://d:4");
  p = read_proxy_environment(env_of({{"https_proxy", ""}}));
  EXPECT_EQ(p.https, "") << "empty means none";
}

TEST(ProxyEnvironmentTest, UserInfoIsNotLogged) {
  EXPECT_EQ(without_userinfo("http://user:secret@proxy:3128"), "http://proxy:3128");
  EXPECT_EQ(without_userinfo("http://proxy:3128/"), "http://proxy:3128/");
  EXPECT_EQ(without_userinfo("proxy:3128"), "proxy:3128");
  EXPECT_EQ(without_userinfo("http://u@p@proxy:1"), "http://proxy:1");
  EXPECT_EQ(without_userinfo(""), "");
}

TEST(DescriptorBudgetTest, UpstreamConnectionsAreBoundedPerOrigin) {
  const config::Config cfg = config::parse_config(
      "server: { max_clients: 1000, workers: 4 }\n"
      "streams:\n"
      "  - { name: a, url: \"http://h:80/a\" }\n"
      "  - { name: b, url: \"http://h/b\", max_connections_per_host: 2 }\n"
      "  - { name: c, url: \"http://h:80/c\" }\n"
      "  - { name: d, url: \"https://h/d\" }\n"
      "  - name: p\n"
      "    path: /events/p/{id}\n"
      "    params: { id: \"^[0-9]+$\" }\n"
      "    url: \"http://other/p?id={id}\"\n"
      "    max_instances: 50\n",
      "pb.yaml", [](const std::string&) { return std::nullopt; });
  const DescriptorNeed need = descriptors_needed(cfg);
  // http://h:80: three streams, smallest cap 2; https://h:443: one stream;
  // http://other:80: up to 50 instances, cap 8.
  EXPECT_EQ(need.upstream, 2u + 1u + 8u);
  EXPECT_EQ(need.clients, 1000u);
  EXPECT_EQ(need.spare, kDescriptorHeadroom + 4);
  EXPECT_EQ(need.total(), 11u + 1000u + kDescriptorHeadroom + 4);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::upstream
