// Value types of the config (sizes, path templates, URLs), the front door's
// keys, and secrets kept out of problems.
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
// Building blocks

TEST(ConfigSizeTest, ParsesUnits) {
  const auto size = [](const std::string& text) {
    std::uint64_t out = 0;
    std::string why;
    EXPECT_TRUE(parse_size(text, out, why)) << text << ": " << why;
    return out;
  };
  EXPECT_EQ(size("0"), 0u);
  EXPECT_EQ(size("65536"), 65536u);
  EXPECT_EQ(size("10B"), 10u);
  EXPECT_EQ(size("1KB"), 1000u);
  EXPECT_EQ(size("1KiB"), 1024u);
  EXPECT_EQ(size("8MiB"), 8u << 20);
  EXPECT_EQ(size("8 MiB"), 8u << 20);
  EXPECT_EQ(size("8mib"), 8u << 20);
  EXPECT_EQ(size("2MB"), 2000000u);
  EXPECT_EQ(size("1GiB"), 1u << 30);
  EXPECT_EQ(size("3GB"), 3000000000u);
}

TEST(ConfigSizeTest, RejectsWithAReason) {
  const auto why = [](const std::string& text) {
    std::uint64_t out = 0;
    std::string reason;
    EXPECT_FALSE(parse_size(text, out, reason)) << text;
    return reason;
  };
  EXPECT_EQ(why(""), "is empty");
  EXPECT_EQ(why("-1"), "must not be negative");
  EXPECT_EQ(why("1.5MiB"), "has a fraction; use a smaller unit instead (1536KiB, not 1.5MiB)");
  EXPECT_EQ(why("MiB"), "is not a size (examples: 65536, 512KiB, 8MiB, 1GB)");
  EXPECT_EQ(why("1TiB"), "has an unknown unit \"TiB\" (use B, KiB, MiB, GiB, KB, MB or GB)");
  EXPECT_EQ(why("99999999999999999999"), "is too large");
  EXPECT_EQ(why("99999999999GiB"), "is too large");
}

// Found by tests/fuzz/fuzz_config_values: "1 " (a quoted value with a
// trailing space) was read as 1 byte; the space may only precede a unit.
TEST(ConfigSizeTest, RefusesASpaceWithoutAUnit) {
  std::uint64_t out = 7;
  std::string why;
  EXPECT_FALSE(parse_size("1 ", out, why));
  EXPECT_EQ(why, "has an unknown unit \" \" (use B, KiB, MiB, GiB, KB, MB or GB)");
  EXPECT_FALSE(parse_size("8MiB ", out, why));
  EXPECT_FALSE(parse_size("1  B", out, why));
  EXPECT_TRUE(parse_size("1 B", out, why));
  EXPECT_EQ(out, 1u);
}

TEST(ConfigSizeTest, Formats) {
  EXPECT_EQ(format_size(1u << 30), "1GiB");
  EXPECT_EQ(format_size(8u << 20), "8MiB");
  EXPECT_EQ(format_size(1536), "1536B");
  EXPECT_EQ(format_size(1000), "1000B");
  EXPECT_EQ(format_size(0), "0B");
}

TEST(ConfigPathTemplateTest, SplitsIntoSegments) {
  std::vector<PathSegment> segments;
  std::string why;
  ASSERT_TRUE(parse_path_template("/events/orders/{customer}/x%20y", segments, why)) << why;
  EXPECT_EQ(segments,
            (std::vector<PathSegment>{
                {"events", false}, {"orders", false}, {"customer", true}, {"x%20y", false}}));
}

TEST(ConfigPathTemplateTest, RejectsMalformedPaths) {
  const auto why = [](const std::string& path) {
    std::vector<PathSegment> segments;
    std::string reason;
    EXPECT_FALSE(parse_path_template(path, segments, reason)) << path;
    return reason;
  };
  EXPECT_EQ(why("/events//a"), "must not contain an empty segment (\"//\") or end with \"/\"");
  EXPECT_EQ(why("/events/a/"), "must not contain an empty segment (\"//\") or end with \"/\"");
  EXPECT_EQ(why("/events/a?x=1"), "must not contain a query or fragment");
  EXPECT_EQ(why("/events/{a}/{a}"), "uses {a} twice");
  EXPECT_EQ(why("/events/{}"), "has a placeholder \"{}\" whose name is not [A-Za-z_][A-Za-z0-9_]*");
  EXPECT_EQ(why("/events/{a-b}"),
            "has a placeholder \"{a-b}\" whose name is not [A-Za-z_][A-Za-z0-9_]*");
  EXPECT_EQ(why("/events/a b"),
            "contains a space, control or non-ASCII character (percent-encode it)");
  EXPECT_EQ(why("/events/a\"b"), "contains \"\"\", which is not allowed in a URL path");
  EXPECT_EQ(why("/events/%4"), "has a \"%\" that is not followed by two hex digits");
  EXPECT_EQ(why("/Events/a"), "must start with \"/events/\"");
}

TEST(ConfigUrlTest, SplitsIntoParts) {
  UrlParts parts;
  std::string why;
  ASSERT_TRUE(parse_url("HTTPS://[2001:db8::1]:8443/a/{id}?q={q}&x=%20", parts, why)) << why;
  EXPECT_EQ(parts.scheme, "https");
  EXPECT_EQ(parts.host, "2001:db8::1");
  EXPECT_EQ(parts.port, 8443);
  EXPECT_EQ(parts.target, "/a/{id}?q={q}&x=%20");
  EXPECT_EQ(parts.placeholders, (std::vector<std::string>{"id", "q"}));

  ASSERT_TRUE(parse_url("http://example.com", parts, why)) << why;
  EXPECT_EQ(parts.host, "example.com");
  EXPECT_EQ(parts.port, 0);
  EXPECT_EQ(parts.target, "/");

  ASSERT_TRUE(parse_url("http://example.com?x=1", parts, why)) << why;
  EXPECT_EQ(parts.target, "/?x=1");
}

TEST(ConfigUrlTest, RejectsBraceMisuse) {
  UrlParts parts;
  std::string why;
  EXPECT_FALSE(parse_url("http://h/{a", parts, why));
  EXPECT_EQ(why,
            "has a \"{\" that does not start a placeholder like {customer} (percent-encode "
            "it as %7B)");
  EXPECT_FALSE(parse_url("http://h/a}", parts, why));
  EXPECT_EQ(why, "has a \"}\" without a matching \"{\" (percent-encode it as %7D)");
  EXPECT_FALSE(parse_url("http://h/\x01", parts, why));
  EXPECT_EQ(why, "must not contain control characters");
  EXPECT_FALSE(parse_url("http://h/\xc3\xa9", parts, why));
  EXPECT_EQ(why, "must not contain non-ASCII characters (percent-encode them)");
}

TEST(ConfigFrontDoorTest, DefaultsAreTheDocumentedOnes) {
  const Config c = parse(kStream);
  EXPECT_FALSE(c.server.reuse_port);
  EXPECT_EQ(c.server.header_timeout, seconds(10));
  EXPECT_EQ(c.server.max_header_bytes, 16u << 10);
  EXPECT_EQ(c.server.keepalive_timeout, seconds(60));
  EXPECT_EQ(c.server.keepalive_requests, 1000u);
  EXPECT_EQ(c.server.max_request_body, 64u << 10);
  EXPECT_EQ(c.server.body_timeout, seconds(30));
  EXPECT_EQ(c.server.max_connections, 0u);
  EXPECT_EQ(c.server.max_connections_per_ip, 0u);
  EXPECT_FALSE(c.server.tls.enabled());
}

TEST(ConfigFrontDoorTest, KeysAreReadAndRangeChecked) {
  const Config c = parse(
      "server:\n  reuse_port: true\n  header_timeout: 2s\n  max_header_bytes: 8KiB\n"
      "  keepalive_timeout: 0s\n  keepalive_requests: 5\n  max_request_body: 0\n"
      "  body_timeout: 1s\n  max_connections: 100\n  max_connections_per_ip: 4\n" +
      kStream);
  EXPECT_TRUE(c.server.reuse_port);
  EXPECT_EQ(c.server.header_timeout, seconds(2));
  EXPECT_EQ(c.server.max_header_bytes, 8u << 10);
  EXPECT_EQ(c.server.keepalive_timeout, seconds(0));
  EXPECT_EQ(c.server.keepalive_requests, 5u);
  EXPECT_EQ(c.server.max_request_body, 0u);
  EXPECT_EQ(c.server.body_timeout, seconds(1));
  EXPECT_EQ(c.server.max_connections, 100u);
  EXPECT_EQ(c.server.max_connections_per_ip, 4u);
  EXPECT_EQ(problems("server:\n  max_header_bytes: 100\n" + kStream),
            "pb.yaml:2:21: server.max_header_bytes: 100 is out of range 1KiB..1MiB");
  EXPECT_NE(problems("server:\n  header_timeout: 5ms\n" + kStream).find("header_timeout"),
            std::string::npos);
  EXPECT_NE(problems("server:\n  keepalive_requests: 0\n" + kStream).find("out of range"),
            std::string::npos);
}

TEST(ConfigFrontDoorTest, TlsNeedsExistingCertAndKeyAndRefusesOldVersions) {
  TempDir dir;
  const std::string cert = dir.file("c.pem", "x");
  const std::string key = dir.file("k.pem", "x");
  const Config c = parse("server:\n  tls: { cert: \"" + cert + "\", key: \"" + key +
                         "\", min_version: TLSv1.3, session_tickets: false }\n" + kStream);
  EXPECT_TRUE(c.server.tls.enabled());
  EXPECT_EQ(c.server.tls.cert, cert);
  EXPECT_EQ(c.server.tls.min_version, "1.3");
  EXPECT_FALSE(c.server.tls.session_tickets);
  EXPECT_EQ(c.server.tls.cert_where.rfind("pb.yaml:2:", 0), 0u) << c.server.tls.cert_where;
  EXPECT_NE(problems("server:\n  tls: { cert: \"" + cert + "\" }\n" + kStream).find("needs key"),
            std::string::npos);
  EXPECT_NE(problems("server:\n  tls: { cert: /nope.pem, key: \"" + key + "\" }\n" + kStream)
                .find("\"/nope.pem\" does not exist"),
            std::string::npos);
  EXPECT_NE(problems("server:\n  tls: { cert: \"" + cert + "\", key: \"" + key +
                     "\", min_version: \"1.1\" }\n" + kStream)
                .find("TLS 1.0 and 1.1 are deprecated"),
            std::string::npos);
  EXPECT_NE(problems("server:\n  tls: { cert: \"" + cert + "\", key: \"" + key +
                     "\", min_versoin: \"1.2\" }\n" + kStream)
                .find("did you mean \"min_version\""),
            std::string::npos);
}

TEST(ConfigSecretsTest, ValuesFromTheEnvironmentNeverAppearInProblems) {
  auto env = env_of({{"LEGACY_PASS", "s3cr3t-Pa55"}, {"TOKEN", "tok-123456"}});
  std::string text = problems(
      "streams:\n"
      "  - name: orders\n"
      "    url: https://bob:${LEGACY_PASS}@legacy.example.com/api\n"
      "    headers: { \"Bad Name\": \"${TOKEN}\", X-Token: \"${TOKEN}\\n\" }\n"
      "    interval: ${TOKEN}\n",
      env);
  EXPECT_NE(text, "");
  EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << text;
  EXPECT_EQ(text.find("tok-123456"), std::string::npos) << text;
  EXPECT_NE(text.find("pb.yaml:3:10:"), std::string::npos) << "still says where: " << text;
}

// Found by tests/fuzz/fuzz_config_file: quote() writes a value with a line
// break, a '"' or a '\\' escaped, and cuts a long one, so the value as
// substituted was not found in the message and went out whole or in part.
TEST(ConfigSecretsTest, ValuesAreHiddenAsQuoteWritesThemToo) {
  const std::string long_secret = "s3cr3t-" + std::string(100, 'x');
  auto env = env_of({{"LINES", "s3cr3t\nline 2"}, {"QUOTED", "s3\"cr3t\\"}, {"LONG", long_secret}});
  const std::string text = problems(
      "streams:\n"
      "  - name: a\n"
      "    url: http://h/\n"
      "    interval: \"${LINES}\"\n"
      "    timeout: \"${QUOTED}\"\n"
      "    linger: "
      "\"0123456789012345678901234567890123456789012345678901234567890123456789${LONG}\"\n",
      env);
  EXPECT_EQ(text.find("s3"), std::string::npos) << text;
  EXPECT_EQ(text.find("xxx"), std::string::npos) << text;
  EXPECT_NE(text.find("pb.yaml:4:15: streams[0].interval: \"***\" is not a duration"),
            std::string::npos)
      << text;
}

TEST(ConfigSecretsTest, UrlUserInfoAndQueryValuesAreNotShownEvenWhenWrittenLiterally) {
  std::string text = problems(
      "streams:\n"
      "  - name: orders\n"
      "    url: https://bob:hunter2@legacy.example.com/api?key=abcd1234&x=1 bad\n");
  EXPECT_NE(text, "");
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_EQ(text.find("abcd1234"), std::string::npos) << text;
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::config
