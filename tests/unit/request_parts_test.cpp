// The pure parts of a poll's request sequence: RFC 8288 Link headers,
// reference resolution and origins (libcurl's URL API), the pager's
// refusals, parameter values escaped into bodies (hostile values), the
// token cache's single flight and renewal margin, and the config's
// refusals with their file:line:col.
#include <gtest/gtest.h>

#include "config/loader.h"
#include "support/file_local.h"
#include "support/util.h"
#include "upstream/body_template.h"
#include "upstream/link_header.h"
#include "upstream/pager.h"
#include "upstream/token_cache.h"
#include "upstream/url_reference.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using upstream::next_link;

TEST(LinkHeaderTest, FindsRelNextAmongOthers) {
  EXPECT_EQ(next_link({"<https://a/x?page=2>; rel=\"next\""}), "https://a/x?page=2");
  EXPECT_EQ(next_link({"<?p=1>; rel=\"first\", </x?p=3>; rel=\"prev next\"; title=\"a,b\""}),
            "/x?p=3");
  EXPECT_EQ(next_link({"<a,b>; rel=last", "<n>; REL=Next"}), "n");
  EXPECT_EQ(next_link({"<x>; rel=\"nextpage\""}), std::nullopt);
  EXPECT_EQ(next_link({"rel=next", "<unclosed; rel=next"}), std::nullopt);
  EXPECT_EQ(next_link({}), std::nullopt);
}

TEST(UrlReferenceTest, ResolvesAndComparesOrigins) {
  EXPECT_EQ(upstream::resolve_reference("http://h/a/b?page=1", "?page=2"), "http://h/a/b?page=2");
  EXPECT_EQ(upstream::resolve_reference("http://h/a/b", "../c#frag"), "http://h/c");
  EXPECT_EQ(upstream::resolve_reference("http://h/a", "file:///etc/passwd"), std::nullopt);
  EXPECT_EQ(upstream::origin_of("HTTP://H.example/x"), "http://h.example:80");
  EXPECT_EQ(upstream::origin_of("https://h:8443/x"), "https://h:8443");
  EXPECT_EQ(upstream::with_query_param("http://h/x?a=1", "cursor", "a b&c"),
            "http://h/x?a=1&cursor=a+b%26c");
}

TEST(PagerTest, RefusesAnotherOriginALoopAndTooManyPages) {
  config::PagesConfig cfg;
  cfg.next = "link";
  cfg.max = 3;
  upstream::Pager pager(cfg, "http://h:8080/list", 1 << 20);
  EXPECT_EQ(pager.add_page("[1]", "", "", "", std::string("?page=2")), "");
  EXPECT_EQ(pager.url(), "http://h:8080/list?page=2");
  EXPECT_NE(pager.add_page("[2]", "", "", "", std::string("http://h:8081/list?page=3"))
                .find("another origin (http://h:8081)"),
            std::string::npos);
  pager.start();
  EXPECT_EQ(pager.add_page("[1]", "", "", "", std::string("?page=2")), "");
  EXPECT_NE(pager.add_page("[2]", "", "", "", std::string("./x/../list")).find("page 1 again"),
            std::string::npos);
  pager.start();
  EXPECT_EQ(pager.add_page("[1]", "", "", "", std::string("?page=2")), "");
  EXPECT_EQ(pager.add_page("[2]", "", "", "", std::string("?page=3")), "");
  EXPECT_EQ(pager.add_page("[3]", "", "", "", std::string("?page=4")),
            "pages: more than max (3) pages");
  pager.start();
  EXPECT_EQ(pager.add_page("[1]", "", "", "", std::nullopt), "");
  EXPECT_FALSE(pager.more());
}

TEST(BodyTemplateTest, HostileValuesStayValues) {
  const std::map<std::string, std::string> v = {{"q", "a\"b\\c</x>&'d\n"}};
  EXPECT_EQ(upstream::expand_body(R"({"q":"{q}","n":{"x":1}})", "application/json", v),
            R"({"q":"a\"b\\c\u003c/x\u003e\u0026'd\n","n":{"x":1}})");
  EXPECT_EQ(upstream::expand_body("<q>{q}</q>", "text/xml; charset=utf-8", v),
            "<q>a&quot;b\\c&lt;/x&gt;&amp;&apos;d\n</q>");
  EXPECT_EQ(upstream::expand_body("a=1&q={q}", "application/x-www-form-urlencoded", v),
            "a=1&q=a%22b%5Cc%3C%2Fx%3E%26%27d%0A");
  EXPECT_EQ(upstream::expand_body("{q}", "application/problem+json", {{"q", "\""}}), "\\\"");
  EXPECT_EQ(upstream::expand_body("{other}", "application/json", v), "{other}");
}

TEST(TokenCacheTest, OneRequestAtATimeAndRenewalBeforeExpiry) {
  upstream::TokenCache cache;
  const auto t0 = std::chrono::steady_clock::now();
  using V = upstream::TokenCache::Verdict;
  EXPECT_EQ(cache.acquire("k", t0, t0, t0 + 5s).verdict, V::kFetch);
  EXPECT_EQ(cache.acquire("k", t0, t0, t0 + 5s).verdict, V::kWait);
  EXPECT_EQ(cache.acquire("other", t0, t0, t0 + 5s).verdict, V::kFetch);
  cache.stored("k", "tok", 300s, t0);
  EXPECT_EQ(cache.acquire("k", t0 + 269s, t0, t0 + 5s).token, "tok");
  EXPECT_EQ(cache.acquire("k", t0 + 271s, t0, t0 + 5s).verdict, V::kFetch);  // 10 % margin
  cache.failed("k", "oauth2 token: HTTP 401 invalid_client", t0 + 272s);
  auto a = cache.acquire("k", t0 + 273s, t0 + 270s, t0 + 280s);
  EXPECT_EQ(a.verdict, V::kFailed);  // it was waiting for that request
  EXPECT_EQ(a.reason, "oauth2 token: HTTP 401 invalid_client");
  EXPECT_EQ(cache.acquire("k", t0 + 274s, t0 + 274s, t0 + 280s).verdict, V::kFetch);
  // An owner that vanished is taken over after its deadline.
  EXPECT_EQ(cache.acquire("k", t0 + 279s, t0 + 279s, t0 + 285s).verdict, V::kWait);
  EXPECT_EQ(cache.acquire("k", t0 + 281s, t0 + 281s, t0 + 285s).verdict, V::kFetch);
  EXPECT_EQ(upstream::TokenCache::margin(3600s), 60s);
  EXPECT_EQ(upstream::TokenCache::margin(100s), 10s);
  EXPECT_EQ(upstream::TokenCache::margin(1s), 100ms);
}

std::string load_error(const std::string& streams) {
  try {
    config::parse_config(config_with(streams), "c.yaml",
                         config::EnvLookup([](const std::string&) { return std::nullopt; }));
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(RequestConfigTest, RefusalsNameTheirPlace) {
  const std::string param =
      "  - name: p\n    url: http://127.0.0.1:9/p\n    path: /events/p/{id}\n"
      "    params: { id: \"[a-z]+\" }\n    method: POST\n";
  EXPECT_NE(load_error(param + "    content_type: text/plain\n    body: \"id={id}\"\n")
                .find("c.yaml:15:11: streams[0].body: uses {id}, but the content_type"),
            std::string::npos)
      << load_error(param + "    content_type: text/plain\n    body: \"id={id}\"\n");
  EXPECT_EQ(load_error(param + "    body: '{\"id\":\"{id}\"}'\n"), "");
  EXPECT_NE(load_error("  - name: s\n    url: http://127.0.0.1:9/\n    diff: text\n"
                       "    pages: { next: link }\n")
                .find("cannot be used with diff: text"),
            std::string::npos);
  EXPECT_NE(load_error("  - name: s\n    url: http://127.0.0.1:9/\n    pages: { next: meta }\n")
                .find("neither link nor a JSON pointer"),
            std::string::npos);
  EXPECT_NE(load_error("  - name: s\n    url: http://127.0.0.1:9/\n"
                       "    headers: { Authorization: x }\n"
                       "    oauth2: { token_url: \"http://127.0.0.1:9/t\", client_id: a, "
                       "client_secret: b }\n")
                .find("remove the Authorization header"),
            std::string::npos);
  EXPECT_NE(load_error("  - name: s\n    url: http://127.0.0.1:9/\n"
                       "    forward_headers: [Authorization]\n"
                       "    oauth2: { token_url: \"http://127.0.0.1:9/t\", client_id: a, "
                       "client_secret: b }\n")
                .find("cannot be forwarded too"),
            std::string::npos);
  EXPECT_NE(load_error("  - name: s\n    url: http://127.0.0.1:9/\n    login: { body: x }\n")
                .find("missing required key \"url\""),
            std::string::npos);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
