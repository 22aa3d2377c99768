// Differential fuzzing of the two request parsers (issue 18): the front
// door's (server/request_head: where a request ends, what it is) and
// cpp-httplib's (what the handlers see), fed the same bytes through the
// real HttplibBridge. For every input the front door accepts, httplib must
// either refuse it (a 4xx, which the client gets) or agree on the method,
// the target and every header field with its value as sent. A disagreement
// is a finding: one was (httplib percent-decodes header values; the bridge
// now hands handlers the raw values).
//
// Inputs are mutations of valid requests by a seeded generator (bounded:
// PB_PARSER_FUZZ_ITERATIONS, default 20,000; PB_PARSER_FUZZ_SEED), so the
// run is the same on every machine and a failure prints its input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/ascii.h"
#include "server/httplib_bridge.h"
#include "server/request_head.h"
#include "server/request_rewrite.h"
#include "support/file_local.h"

namespace pb::server {
namespace PB_FILE_LOCAL {

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// What httplib made of one request.
struct Seen {
  bool routed = false;
  std::string method, target;
  std::vector<std::pair<std::string, std::string>> headers;  // as httplib has them
};

class Differential {
 public:
  Differential() : bridge_(std::chrono::seconds(5), 100, 1 << 20) {
    bridge_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      seen_.routed = true;
      seen_.method = req.method;
      seen_.target = req.target;
      for (const auto& [k, v] : req.headers) {
        if (k == "REMOTE_ADDR" || k == "REMOTE_PORT" || k == "LOCAL_ADDR" || k == "LOCAL_PORT") {
          continue;
        }
        seen_.headers.emplace_back(k, v);
      }
      res.status = 204;
      return httplib::Server::HandlerResponse::Handled;
    });
  }

  // Empty when the two agree (or the front door refuses); else what differs.
  std::string check(const std::string& input) {
    HeadScanner scanner;
    std::size_t skip = 0, head_bytes = 0;
    if (scanner.scan(input, skip, head_bytes) != HeadScanner::kComplete) return {};
    std::string_view head = std::string_view(input).substr(skip, head_bytes);
    RequestHead parsed;
    std::string why;
    if (parse_request_head(head, parsed, why) != 0) return {};
    if (parsed.content_length > (1u << 16)) return {};
    std::string request(head);
    request.append(input, skip + head_bytes,
                   std::min<std::size_t>(parsed.content_length, input.size() - skip - head_bytes));
    if (request.size() < head.size() + parsed.content_length) {
      request.append(parsed.content_length - (request.size() - head.size()), 'x');
    }

    seen_ = Seen{};
    HttplibBridge::Exchange ex;
    ex.request = request;
    ex.remote_ip = "127.0.0.1";
    bridge_.handle(ex);
    if (!seen_.routed) {
      // httplib refused: the client gets its 4xx (never a 2xx from a
      // request pollbridge did not see the same way).
      int status = ex.response.size() > 12 ? std::atoi(ex.response.c_str() + 9) : 0;
      if (status < 400 || status > 499) return "httplib neither routed nor refused: " + ex.response;
      return {};
    }
    // The front door's view of the same head.
    std::string_view rl = head.substr(0, head.find("\r\n"));
    std::string method(rl.substr(0, rl.find(' ')));
    std::size_t sp1 = rl.find(' ');
    std::string target(rl.substr(sp1 + 1, rl.rfind(' ') - sp1 - 1));
    std::vector<std::pair<std::string, std::string>> headers;
    for_each_raw_header(request, [&](std::string_view n, std::string_view v) {
      if (iequals(n, "Expect") || iequals(n, "Range") || iequals(n, "If-Range")) return;
      headers.emplace_back(std::string(n), std::string(v));
    });
    if (method != seen_.method) return "method: " + method + " vs " + seen_.method;
    // httplib drops a fragment from the target; the front door passes it on.
    std::string t = target.substr(0, target.find('#'));
    if (t != seen_.target) return "target: " + t + " vs " + seen_.target;
    auto sorted = [](auto v) {
      std::sort(v.begin(), v.end());
      return v;
    };
    if (sorted(headers) != sorted(seen_.headers)) {
      std::string a, b;
      for (const auto& [k, v] : sorted(headers)) a += k + "=" + v + ";";
      for (const auto& [k, v] : sorted(seen_.headers)) b += k + "=" + v + ";";
      return "headers: " + a + " vs " + b;
    }
    return {};
  }

 private:
  HttplibBridge bridge_;
  Seen seen_;
};

const char* kSeeds[] = {
    "GET /events/orders HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1a-2\r\n\r\n",
    "GET /streams/a?x=1&access_token=t HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n\r\n",
    "POST /streams/a/poll HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
    "HEAD /events/a HTTP/1.0\r\nConnection: keep-alive\r\nX-User: a%0D%0Ab\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: x\r\nOrigin: http://a\r\nCookie: a=b; c=%41\r\n\r\n",
    "GET /x HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\nExpect: 100-continue\r\n\r\n",
};

// Bytes a mutation inserts: the characters parsers disagree on.
const char kAlphabet[] = {'\r', '\n', ' ', '\t', ':', '%',  '0',    'A',    'd', 'u', '#',
                          '?',  '&',  '=', ',',  ';', '\0', '\x7f', '\xc3', 'H', '/', '.'};

std::string mutate(std::string s, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> ops(1, 4);
  int n = ops(rng);
  for (int i = 0; i < n && !s.empty(); ++i) {
    std::size_t at = std::uniform_int_distribution<std::size_t>(0, s.size() - 1)(rng);
    char c = kAlphabet[std::uniform_int_distribution<std::size_t>(0, sizeof kAlphabet - 1)(rng)];
    switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
      case 0:
        s.insert(at, 1, c);
        break;
      case 1:
        s[at] = c;
        break;
      case 2:
        s.erase(at, 1);
        break;
      default: {  // duplicate a slice (repeated headers, long values)
        std::size_t len = std::uniform_int_distribution<std::size_t>(1, 24)(rng);
        s.insert(at, s.substr(at, len));
      }
    }
  }
  return s;
}

TEST(RequestParsersDifferentialTest, FrontDoorAndHttplibAgreeOnEveryAcceptedRequest) {
  const char* it_env = std::getenv("PB_PARSER_FUZZ_ITERATIONS");
  const char* seed_env = std::getenv("PB_PARSER_FUZZ_SEED");
  const long iterations = it_env ? std::atol(it_env) : 20000;
  std::mt19937_64 rng(seed_env ? std::strtoull(seed_env, nullptr, 10) : 18);
  Differential d;
  long accepted = 0;
  for (const char* seed : kSeeds) {
    ASSERT_EQ(d.check(seed), "") << printable(seed);
  }
  for (long i = 0; i < iterations; ++i) {
    std::string input = mutate(kSeeds[i % (sizeof kSeeds / sizeof *kSeeds)], rng);
    std::string diff = d.check(input);
    ASSERT_EQ(diff, "") << "input: " << printable(input);
    HeadScanner s;
    std::size_t a = 0, b = 0;
    accepted += s.scan(input, a, b) == HeadScanner::kComplete;
  }
  // The generator must reach the interesting part, not only refusals.
  EXPECT_GT(accepted, iterations / 4);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::server
