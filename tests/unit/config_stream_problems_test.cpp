// The config loader's problems with streams: URLs, headers, diffs,
// pointers, routes and parameters, several problems at once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "config/config.h"
#include "config/duration.h"
#include "config/env.h"
#include "config/loader.h"
#include "config/path_template.h"
#include "config/url.h"
#include "support/file_local.h"
#include "unit/config_test_support.h"

namespace pb::config {
namespace PB_FILE_LOCAL {

using namespace config_test;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// Upstream request

TEST(ConfigTest, BadUrls) {
  const auto url = [](const std::string& value) {
    return problems("streams:\n  - name: a\n    url: \"" + value + "\"\n");
  };
  const std::string at = "pb.yaml:3:10: streams[0].url: ";
  EXPECT_EQ(url("ftp://example.com/x"),
            at + "\"ftp://example.com/x\" has scheme \"ftp\"; only http:// and https:// are "
                 "supported");
  EXPECT_EQ(url("example.com/x"), at + "\"example.com/x\" must start with http:// or https://");
  EXPECT_EQ(url("http:///x"), at + "\"http:///x\" has no host");
  EXPECT_EQ(url("http://"), at + "\"http://\" has no host");
  EXPECT_EQ(url("http://:80/x"), at + "\"http://:80/x\" has no host");
  EXPECT_EQ(url("http://example.com/a b"),
            at + "\"http://example.com/a b\" must not contain spaces (percent-encode them as %20)");
  EXPECT_EQ(url("http://user:pw@example.com/"),
            at + "\"http://***@example.com/\" must not contain user info (user:password@); "
                 "send credentials in headers (Authorization)");
  EXPECT_EQ(url("http://example.com/#top"),
            at + "\"http://example.com/#top\" must not contain a fragment (#...); it is never "
                 "sent to the server");
  EXPECT_EQ(url("http://example.com:0/"),
            at + "\"http://example.com:0/\" has port \"0\"; expected a number from 1 to 65535");
  EXPECT_EQ(url("http://example.com:http/"),
            at + "\"http://example.com:http/\" has port \"http\"; expected a number from 1 to "
                 "65535");
  EXPECT_EQ(url("http://::1/"),
            at + "\"http://::1/\" needs brackets around an IPv6 address (http://[::1]:8080/)");
  EXPECT_EQ(url("http://exa_mple.com!/"),
            at + "\"http://exa_mple.com!/\" has a host with \"!\" in it");
  EXPECT_EQ(url("http://[::1/"),
            at + "\"http://[::1/\" has an IPv6 address without its closing \"]\"");
  // Found by tests/fuzz/fuzz_config_values: any mix of hex digits, colons
  // and dots passed as an IPv6 address, so the mistake showed only when the
  // first poll failed.
  EXPECT_EQ(url("http://[:EEEEE:1]/"),
            at + "\"http://[:EEEEE:1]/\" has \":EEEEE:1\" in [...], which is not an IPv6 "
                 "address");
  EXPECT_EQ(url("http://[1:2:3:4:5:6:7:8:9]/"),
            at + "\"http://[1:2:3:4:5:6:7:8:9]/\" has \"1:2:3:4:5:6:7:8:9\" in [...], which is "
                 "not an IPv6 address");
  EXPECT_EQ(url("http://example.com/a|b"),
            at + "\"http://example.com/a|b\" contains \"|\", which must be percent-encoded");
  EXPECT_EQ(url("http://example.com/%zz"),
            at + "\"http://example.com/%zz\" has a \"%\" that is not followed by two hex digits");
  EXPECT_EQ(url(""), at + "\"\" is empty (expected http://host[:port]/path)");
}

TEST(ConfigTest, UrlPlaceholdersMustBeDeclaredParams) {
  EXPECT_EQ(problems("streams:\n  - name: a\n    url: http://h/{customer}/{x}/{customer}\n"
                     "    path: /events/a/{customer}\n    params: { customer: \"[0-9]+\" }\n"),
            "pb.yaml:3:10: streams[0].url: uses {x}, which is not declared in streams[0].params");
  EXPECT_EQ(problems("streams:\n  - name: a\n    url: http://{host}/\n"),
            "pb.yaml:3:10: streams[0].url: \"http://{host}/\" may hold placeholders only in its "
            "path and query, not in the host or port");
}

TEST(ConfigTest, BodyOnlyWithPost) {
  EXPECT_EQ(problems(kStream + "    body: '{\"q\":1}'\n"),
            "pb.yaml:4:11: streams[0].body: a body is sent only with method: POST");
  EXPECT_EQ(problems(kStream + "    method: GET\n    body: \"\"\n"), "");
}

TEST(ConfigTest, HeaderProblems) {
  EXPECT_EQ(problems(kStream + "    headers: { \"Bad Name\": x }\n"),
            "pb.yaml:4:16: streams[0].headers: \"Bad Name\" is not a valid header name (letters, "
            "digits and !#$%&'*+-.^_`|~ only)");
  EXPECT_EQ(problems(kStream + "    headers: { X-A: \"a\\r\\nInjected: 1\" }\n"),
            "pb.yaml:4:21: streams[0].headers.X-A: header values must not contain CR, LF, NUL or "
            "other control characters");
  EXPECT_EQ(problems(kStream + "    headers: { X-A: \"a\\0\" }\n"),
            "pb.yaml:4:21: streams[0].headers.X-A: header values must not contain CR, LF, NUL or "
            "other control characters");
  EXPECT_EQ(problems(kStream + "    headers:\n      X-Token: a\n      x-token: b\n"),
            "pb.yaml:6:7: streams[0].headers: x-token is set twice (header names ignore case; "
            "first at line 5)");
  EXPECT_EQ(
      problems(kStream + "    headers: { Content-Type: text/plain }\n"),
      "pb.yaml:4:16: streams[0].headers: Content-Type is set from content_type; use that key");
  EXPECT_EQ(problems(kStream + "    headers: { If-None-Match: x }\n"),
            "pb.yaml:4:16: streams[0].headers: If-None-Match is set by pollbridge from the "
            "previous response (ETag, Last-Modified)");
}

// ---------------------------------------------------------------------------
// Diff options

TEST(ConfigTest, ItemsNeedsAKey) {
  EXPECT_EQ(problems(kStream + "    diff: items\n"),
            "pb.yaml:4:11: streams[0].diff: items needs a key: the member that identifies each "
            "element, like key: id");
  EXPECT_EQ(problems(kStream + "    diff: items\n    key: \"\"\n"),
            "pb.yaml:5:10: streams[0].key: must not be empty with diff: items");
}

TEST(ConfigTest, TextDiffTakesNoJsonOptions) {
  EXPECT_EQ(problems(kStream + "    diff: text\n    select: /a\n    ignore: [/b]\n"),
            "pb.yaml:5:13: streams[0].select: applies to JSON documents and cannot be used with "
            "diff: text\n"
            "pb.yaml:6:13: streams[0].ignore: applies to JSON documents and cannot be used with "
            "diff: text");
  EXPECT_EQ(problems(kStream + "    diff: text\n    select: \"\"\n    ignore: []\n"), "");
  // Nothing parses a text stream's body: a parser there would be ignored.
  EXPECT_EQ(problems(kStream + "    diff: text\n    parse: csv\n"),
            "pb.yaml:5:12: streams[0].parse: reads the body into a document, which diff: text "
            "does not use: drop parse, or use a document diff (snapshot, json-patch, "
            "merge-patch, items)");
  EXPECT_EQ(problems(kStream + "    diff: text\n    parse: json\n"), "");
}

TEST(ConfigTest, PointerProblems) {
  EXPECT_EQ(problems(kStream + "    select: data/orders\n"),
            "pb.yaml:4:13: streams[0].select: \"data/orders\" is not a JSON pointer: a JSON "
            "pointer must be empty or start with '/' (did you mean \"/data/orders\"?)");
  EXPECT_EQ(problems(kStream + "    ignore: [/ok, /a~2b, \"\"]\n"),
            "pb.yaml:4:19: streams[0].ignore[1]: \"/a~2b\" is not a JSON pointer: '~' in a JSON "
            "pointer must be followed by 0 or 1\n"
            "pb.yaml:4:26: streams[0].ignore[2]: \"\" would ignore the whole document");
  EXPECT_EQ(problems(kStream + "    diff: items\n    key: /a~\n"),
            "pb.yaml:5:10: streams[0].key: \"/a~\" is not a JSON pointer: '~' in a JSON pointer "
            "must be followed by 0 or 1");
}

TEST(ConfigTest, BackoffMaxMustCoverTheInterval) {
  EXPECT_EQ(problems(kStream + "    interval: 2m\n    backoff_max: 1m\n"),
            "pb.yaml:5:18: streams[0].backoff_max: 1m is shorter than interval (2m); it must be "
            "at least the interval");
}

// ---------------------------------------------------------------------------
// Paths and params

TEST(ConfigTest, PathMustStartWithEvents) {
  EXPECT_EQ(problems(kStream + "    path: /orders\n"),
            "pb.yaml:4:11: streams[0].path: \"/orders\" must start with \"/events/\"");
  EXPECT_EQ(problems(kStream + "    path: /events/\n"),
            "pb.yaml:4:11: streams[0].path: \"/events/\" needs at least one segment after "
            "\"/events/\"");
  EXPECT_EQ(problems(kStream + "    path: /events/a/../b\n"),
            "pb.yaml:4:11: streams[0].path: \"/events/a/../b\" must not contain \".\" or \"..\" "
            "segments");
}

TEST(ConfigTest, PlaceholderNeedsAParam) {
  EXPECT_EQ(problems(kStream + "    path: /events/orders/{customer}\n"),
            "pb.yaml:4:11: streams[0].path: placeholder {customer} has no regular expression in "
            "streams[0].params");
}

TEST(ConfigTest, ParamMustAppearInPath) {
  EXPECT_EQ(problems(kStream + "    path: /events/orders/{customer}\n"
                               "    params: { customer: \"[0-9]+\", region: \"[a-z]+\" }\n"),
            "pb.yaml:5:13: streams[0].params: parameter \"region\" does not appear in path "
            "\"/events/orders/{customer}\"");
}

TEST(ConfigTest, ParamsWithoutPlaceholdersInPath) {
  EXPECT_EQ(problems(kStream + "    params: { customer: \"[0-9]+\" }\n"),
            "pb.yaml:4:13: streams[0].params: params need {placeholders} in path, like path: "
            "/events/orders/{customer}");
  EXPECT_EQ(problems(kStream + "    path: /events/orders/all\n    params: { customer: \"x\" }\n"),
            "pb.yaml:5:13: streams[0].params: parameter \"customer\" does not appear in path "
            "\"/events/orders/all\"");
}

TEST(ConfigTest, ParamProblems) {
  // The reason in parentheses is std::regex_error::what() and varies with
  // the standard library.
  const std::string bad_regex =
      problems(kStream + "    path: /events/o/{c}\n    params: { c: \"[0-9\" }\n");
  const std::string prefix =
      "pb.yaml:5:18: streams[0].params.c: \"[0-9\" is not a valid regular expression (";
  EXPECT_EQ(bad_regex.substr(0, prefix.size()), prefix);
  EXPECT_EQ(bad_regex.back(), ')');
  EXPECT_EQ(bad_regex.find('\n'), std::string::npos);
  EXPECT_EQ(problems(kStream + "    path: /events/o/{c}\n    params: { c: \"\" }\n"),
            "pb.yaml:5:18: streams[0].params.c: needs a regular expression for the values, like "
            "\"^[0-9]+$\"");
  EXPECT_EQ(problems(kStream + "    path: /events/o/{c}\n    params: { c: x, 1d: y }\n"),
            "pb.yaml:5:21: streams[0].params: \"1d\" is not a valid parameter name "
            "([A-Za-z_][A-Za-z0-9_]*)");
}

TEST(ConfigTest, PlaceholderMustFillASegment) {
  EXPECT_EQ(problems(kStream + "    path: /events/orders-{c}\n    params: { c: x }\n"),
            "pb.yaml:4:11: streams[0].path: \"/events/orders-{c}\" has a placeholder that does "
            "not fill a whole segment (write /events/orders/{customer}, not "
            "/events/orders-{customer})");
}

TEST(ConfigTest, SamePathTwice) {
  EXPECT_EQ(problems(kStream + "    path: /events/x\n"
                               "  - name: b\n    url: http://h/\n    path: /events/x\n"),
            "pb.yaml:7:11: streams[1].path: path \"/events/x\" is already used by stream "
            "\"orders\" (line 4)");
}

TEST(ConfigTest, PatternsIdenticalUpToParamNames) {
  EXPECT_EQ(problems(R"(streams:
  - name: a
    url: http://h/a/{x}
    path: /events/by/{x}
    params: { x: "[0-9]+" }
  - name: b
    url: http://h/b/{y}
    path: /events/by/{y}
    params: { y: "[a-z]+" }
)"),
            "pb.yaml:8:11: streams[1].path: path \"/events/by/{y}\" is the same route as "
            "\"/events/by/{x}\" of stream \"a\" (line 4)");
}

TEST(ConfigTest, PathMustNotTakeAnotherStreamsDefaultPath) {
  // "orders" keeps /events/orders although it is served at a pattern.
  EXPECT_EQ(problems(R"(streams:
  - name: orders
    url: http://h/o/{c}
    path: /events/orders/{c}
    params: { c: "[0-9]+" }
  - name: legacy
    url: http://h/legacy
    path: /events/orders
)"),
            "pb.yaml:8:11: streams[1].path: path \"/events/orders\" collides with "
            "\"/events/orders\", the default path of stream \"orders\" (line 2)");
  // ...and the other way round: a later stream's name is taken by an earlier
  // stream's path.
  EXPECT_EQ(problems(R"(streams:
  - name: legacy
    url: http://h/legacy
    path: /events/orders
  - name: orders
    url: http://h/o/{c}
    path: /events/orders/{c}
    params: { c: "[0-9]+" }
)"),
            "pb.yaml:7:11: streams[1].path: the default path \"/events/orders\" of this stream is "
            "matched by path \"/events/orders\" of stream \"legacy\" (line 4)");
}

TEST(ConfigTest, PatternMatchingAnotherStreamsPath) {
  EXPECT_EQ(problems(R"(streams:
  - name: orders
    url: http://h/orders
  - name: any
    url: http://h/any/{x}
    path: /events/{x}
    params: { x: ".+" }
)"),
            "pb.yaml:6:11: streams[1].path: path \"/events/{x}\" can match the same requests as "
            "\"/events/orders\" of stream \"orders\" (line 2)");
  // A regex that excludes the other stream's segment is fine.
  EXPECT_EQ(problems(R"(streams:
  - name: orders
    url: http://h/orders
  - name: any
    url: http://h/any/{x}
    path: /events/{x}
    params: { x: "[0-9]+" }
)"),
            "");
}

// ---------------------------------------------------------------------------
// Collecting problems

TEST(ConfigTest, SeveralProblemsAreReportedTogetherInFileOrder) {
  const std::string yaml = R"(server:
  listen: "127.0.0.1:99999"
  workers: 0
  colour: blue
history: -5
streams:
  - name: orders
    url: ftp://legacy/orders
    interval: 10
    diff: items
  - name: orders
    url: http://legacy/orders
    headers: { X-Token: "${MISSING}" }
)";
  try {
    parse(yaml);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::vector<std::string> expected = {
        "pb.yaml:2:11: server.listen: \"127.0.0.1:99999\" has port \"99999\"; expected a number "
        "from 0 to 65535",
        "pb.yaml:3:12: server.workers: 0 is out of range 1..256",
        "pb.yaml:4:3: unknown key \"colour\" in server",
        "pb.yaml:5:10: history: -5 is out of range 1..1000000",
        "pb.yaml:8:10: streams[0].url: \"ftp://legacy/orders\" has scheme \"ftp\"; only http:// "
        "and https:// are supported",
        "pb.yaml:9:15: streams[0].interval: \"10\" needs a unit: ms, s, m or h",
        "pb.yaml:10:11: streams[0].diff: items needs a key: the member that identifies each "
        "element, like key: id",
        "pb.yaml:11:11: streams[1].name: duplicate stream name \"orders\" (first defined at line "
        "7)",
        "pb.yaml:13:25: environment variable MISSING is not set",
    };
    EXPECT_EQ(e.problems(), expected);
    std::string joined;
    for (const auto& p : expected) joined += (joined.empty() ? "" : "\n") + p;
    EXPECT_EQ(std::string(e.what()), joined);
  }
}

TEST(ConfigTest, AnAnchorUsedTwiceReportsItsProblemOnce) {
  EXPECT_EQ(problems(R"(streams:
  - name: a
    url: http://h/a
    headers: &h { X-Token: "${MISSING}" }
  - name: b
    url: http://h/b
    headers: *h
)"),
            "pb.yaml:4:28: environment variable MISSING is not set");
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::config
