// The auth: section and the streams' access keys (src/config/auth_section.cpp):
// what loads, what each mistake reports (file:line:col), and that secrets
// never appear in a message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "config/config.h"
#include "config/loader.h"
#include "support/file_local.h"
#include "support/jwt_forge.h"

namespace pb::config {
namespace PB_FILE_LOCAL {

namespace fs = std::filesystem;
using namespace pb::testing;

const std::string kSecret = "0123456789abcdef0123456789abcdef";
const std::string kToken = "read-token-abcdefghijklmnop";

EnvLookup env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (name == "PB_JWT_SECRET") return kSecret;
    if (name == "PB_SHORT_SECRET") return std::string("tiny-secret-value");
    if (name == "PB_READ_TOKEN") return kToken;
    if (name == "PB_SHORT_TOKEN") return std::string("short-tok");
    return std::nullopt;
  };
}

class AuthConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pb-auth-config-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    rsa_ = write("rsa.pem", public_pem(rsa_2048()));
    ec_ = write("ec.pem", public_pem(ec_p256()));
    ec384_ = write("ec384.pem", public_pem(ec_p384()));
    private_ = write("private.pem", private_pem(rsa_2048()));
    garbage_ = write("garbage.pem", "hello\n");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  static Config parse(const std::string& yaml) { return parse_config(yaml, "pb.yaml", env()); }
  static std::string problems(const std::string& yaml) {
    try {
      parse_config(yaml, "pb.yaml", env());
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }
  // An auth section with one key, then one stream.
  static std::string with_key(const std::string& key_line, const std::string& stream_extra = "") {
    return "auth:\n"
           "  jwt:\n"
           "    keys:\n"
           "      - " +
           key_line +
           "\n"
           "streams:\n"
           "  - name: orders\n"
           "    url: http://127.0.0.1:9000/orders\n" +
           stream_extra;
  }

  fs::path dir_;
  std::string rsa_, ec_, ec384_, private_, garbage_;
};

TEST_F(AuthConfigTest, AFullSectionLoads) {
  const Config c = parse(
      "server:\n"
      "  cors_origins: [\"https://app.example.com\"]\n"
      "  cors_credentials: true\n"
      "  admin_token: admin-token-value\n"
      "  admin_listen: 127.0.0.1:9901\n"
      "auth:\n"
      "  jwt:\n"
      "    keys:\n"
      "      - { alg: RS256, file: " +
      rsa_ +
      ", kid: idp-2026 }\n"
      "      - { alg: ES256, file: " +
      ec_ +
      " }\n"
      "      - { alg: HS256, secret: \"${PB_JWT_SECRET}\" }\n"
      "    issuer: https://id.example.com\n"
      "    audience: [pollbridge, pollbridge-eu]\n"
      "    leeway: 45s\n"
      "    streams_claim: pb_streams\n"
      "  tokens: [\"${PB_READ_TOKEN}\"]\n"
      "  cookie: pb_token\n"
      "  query_param: access_token\n"
      "streams:\n"
      "  - name: public-board\n"
      "    url: http://127.0.0.1:9000/board\n"
      "    auth: none\n"
      "  - name: orders\n"
      "    url: http://127.0.0.1:9000/orders\n"
      "  - name: my-orders\n"
      "    url: http://127.0.0.1:9000/my-orders\n"
      "    forward_headers: [Cookie]\n"
      "    auth: upstream\n"
      "  - name: customer\n"
      "    url: http://127.0.0.1:9000/customer/{customer}\n"
      "    path: /events/customer/{customer}\n"
      "    params: { customer: \"^[0-9]+$\" }\n"
      "    bind: { customer: sub }\n"
      "    persist: false\n");
  EXPECT_TRUE(c.server.cors_credentials);
  EXPECT_EQ(c.server.admin_host, "127.0.0.1");
  EXPECT_EQ(c.server.admin_port, 9901);
  ASSERT_TRUE(c.auth.enabled);
  ASSERT_EQ(c.auth.jwt.keys.size(), 3u);
  EXPECT_EQ(c.auth.jwt.keys[0].alg, "RS256");
  EXPECT_EQ(c.auth.jwt.keys[0].kid, "idp-2026");
  EXPECT_EQ(c.auth.jwt.keys[0].file, rsa_);
  EXPECT_EQ(c.auth.jwt.keys[0].material, public_pem(rsa_2048()));  // read at load
  EXPECT_EQ(c.auth.jwt.keys[1].alg, "ES256");
  EXPECT_EQ(c.auth.jwt.keys[2].material, kSecret);
  EXPECT_EQ(c.auth.jwt.keys[2].file, "");
  EXPECT_EQ(c.auth.jwt.issuer, "https://id.example.com");
  EXPECT_EQ(c.auth.jwt.audience, (std::vector<std::string>{"pollbridge", "pollbridge-eu"}));
  EXPECT_EQ(c.auth.jwt.leeway, std::chrono::seconds(45));
  EXPECT_EQ(c.auth.jwt.streams_claim, "pb_streams");
  EXPECT_EQ(c.auth.tokens, std::vector<std::string>{kToken});
  EXPECT_EQ(c.auth.cookie, "pb_token");
  EXPECT_EQ(c.auth.query_param, "access_token");
  ASSERT_EQ(c.streams.size(), 4u);
  EXPECT_EQ(c.streams[0].auth.mode, AuthMode::kNone);
  EXPECT_EQ(c.streams[1].auth.mode, AuthMode::kRequired);  // the default with auth:
  EXPECT_TRUE(c.streams[1].auth.persist);
  EXPECT_EQ(c.streams[2].auth.mode, AuthMode::kUpstream);
  EXPECT_EQ(c.streams[2].auth.forward_headers, std::vector<std::string>{"Cookie"});
  EXPECT_FALSE(c.streams[2].auth.persist);  // per-user data stays in memory by default
  EXPECT_EQ(c.streams[3].auth.bind, (std::map<std::string, std::string>{{"customer", "sub"}}));
  EXPECT_FALSE(c.streams[3].auth.persist);
}

TEST_F(AuthConfigTest, DefaultsWithoutAnAuthSection) {
  const Config c = parse(
      "streams:\n"
      "  - name: orders\n"
      "    url: http://127.0.0.1:9000/orders\n"
      "  - name: mine\n"
      "    url: http://127.0.0.1:9000/mine\n"
      "    forward_headers: X-Session\n"
      "    persist: true\n");
  EXPECT_FALSE(c.auth.enabled);
  EXPECT_EQ(c.streams[0].auth.mode, AuthMode::kNone);
  EXPECT_EQ(c.streams[1].auth.mode, AuthMode::kNone);
  EXPECT_EQ(c.streams[1].auth.forward_headers, std::vector<std::string>{"X-Session"});
  EXPECT_TRUE(c.streams[1].auth.persist);
  EXPECT_FALSE(c.server.cors_credentials);
  EXPECT_EQ(c.server.admin_port, -1);
}

TEST_F(AuthConfigTest, KeyMaterialMustFitItsAlgorithm) {
  EXPECT_EQ(problems(with_key("{ alg: HS256, file: " + rsa_ + " }")),
            "pb.yaml:4:29: auth.jwt.keys[0].file: HS256 takes a shared secret (secret: "
            "\"${VAR}\"), not a file; a public key must never be an HMAC secret (RFC 8725 §2.1)");
  EXPECT_EQ(problems(with_key("{ alg: RS256, secret: \"${PB_JWT_SECRET}\" }")),
            "pb.yaml:4:31: auth.jwt.keys[0].secret: RS256 needs file: a PEM public key, not a "
            "secret");
  EXPECT_EQ(problems(with_key("{ alg: RS256, file: " + ec_ + " }")),
            "pb.yaml:4:29: auth.jwt.keys[0].file: \"" + ec_ +
                "\" is an EC key; RS256 needs an RSA public key");
  EXPECT_EQ(problems(with_key("{ alg: ES256, file: " + rsa_ + " }")),
            "pb.yaml:4:29: auth.jwt.keys[0].file: \"" + rsa_ +
                "\" is an RSA key; ES256 needs an EC public key on P-256");
  EXPECT_EQ(problems(with_key("{ alg: ES256, file: " + ec384_ + " }")),
            "pb.yaml:4:29: auth.jwt.keys[0].file: \"" + ec384_ +
                "\" is an EC key on another curve; ES256 needs P-256");
  const std::string short_secret =
      problems(with_key("{ alg: HS256, secret: \"${PB_SHORT_SECRET}\" }"));
  EXPECT_EQ(short_secret,
            "pb.yaml:4:31: auth.jwt.keys[0].secret: the secret is too short: HS256 needs at "
            "least 32 bytes (RFC 7518 §3.2), the secret has 17");
  EXPECT_EQ(short_secret.find("tiny-secret-value"), std::string::npos);
  EXPECT_NE(problems(with_key("{ alg: HS512, secret: \"${PB_JWT_SECRET}\" }")).find("64 bytes"),
            std::string::npos);
  // A PEM pasted as the secret.
  EXPECT_NE(problems(with_key("{ alg: HS256, secret: \"-----BEGIN PUBLIC "
                              "KEY-----xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\" }"))
                .find("the secret looks like a PEM key"),
            std::string::npos);
  EXPECT_EQ(problems(with_key("{ alg: RS256, file: " + private_ + " }")),
            "pb.yaml:4:29: auth.jwt.keys[0].file: \"" + private_ +
                "\" holds a private key; give the public key instead (openssl pkey -in key.pem "
                "-pubout -out public.pem)");
}

TEST_F(AuthConfigTest, UnreadableKeyFilesAreReported) {
  EXPECT_EQ(problems(with_key("{ alg: RS256, file: " + garbage_ + " }")),
            "pb.yaml:4:29: auth.jwt.keys[0].file: \"" + garbage_ +
                "\" is not a PEM file (no \"-----BEGIN\" line)");
  const std::string missing = (dir_ / "missing.pem").string();
  EXPECT_EQ(problems(with_key("{ alg: RS256, file: " + missing + " }")),
            "pb.yaml:4:29: auth.jwt.keys[0].file: \"" + missing + "\" does not exist");
  EXPECT_EQ(problems(with_key("{ alg: RS256, file: " + dir_.string() + " }")),
            "pb.yaml:4:29: auth.jwt.keys[0].file: \"" + dir_.string() + "\" is not a regular file");
  const std::string big = write("big.pem", std::string(100 << 10, 'x'));
  EXPECT_NE(problems(with_key("{ alg: RS256, file: " + big + " }")).find("is larger than 64 KiB"),
            std::string::npos);
  if (::geteuid() != 0) {  // root reads anything
    const std::string locked = write("locked.pem", public_pem(rsa_2048()));
    fs::permissions(locked, fs::perms::none);
    EXPECT_NE(problems(with_key("{ alg: RS256, file: " + locked + " }")).find("cannot be read"),
              std::string::npos);
  }
}

TEST_F(AuthConfigTest, AlgorithmNamesAreCheckedAndNoneIsRefused) {
  EXPECT_EQ(problems(with_key("{ alg: none, secret: \"${PB_JWT_SECRET}\" }")),
            "pb.yaml:4:16: auth.jwt.keys[0].alg: alg \"none\" is refused: a token signed with "
            "none has no signature (RFC 8725 §3.1)");
  EXPECT_NE(problems(with_key("{ alg: None, secret: \"${PB_JWT_SECRET}\" }")).find("is refused"),
            std::string::npos);
  EXPECT_EQ(problems(with_key("{ alg: hs256, secret: \"${PB_JWT_SECRET}\" }")),
            "pb.yaml:4:16: auth.jwt.keys[0].alg: unknown alg \"hs256\" (algorithm names are "
            "case-sensitive: did you mean \"HS256\"?)");
  EXPECT_EQ(problems(with_key("{ alg: PS256, file: " + rsa_ + " }")),
            "pb.yaml:4:16: auth.jwt.keys[0].alg: unknown alg \"PS256\"; supported: HS256, "
            "HS384, HS512, RS256, RS384, RS512, ES256, ES384");
  EXPECT_EQ(problems(with_key("{ file: " + rsa_ + " }")),
            "pb.yaml:4:9: auth.jwt.keys[0]: missing required key \"alg\" (one of HS256, HS384, "
            "HS512, RS256, RS384, RS512, ES256, ES384)");
  EXPECT_EQ(problems(with_key("{ alg: RS256 }")),
            "pb.yaml:4:9: auth.jwt.keys[0]: RS256 needs file: the path of a PEM public key or "
            "certificate");
  EXPECT_EQ(problems(with_key("{ alg: HS256 }")),
            "pb.yaml:4:9: auth.jwt.keys[0]: HS256 needs secret: the shared secret, like secret: "
            "\"${PB_JWT_SECRET}\"");
  EXPECT_NE(problems(with_key("{ alg: HS256, secret: \"${PB_JWT_SECRET}\", file: " + rsa_ + " }"))
                .find("give either file or secret, not both"),
            std::string::npos);
  EXPECT_NE(
      problems(with_key("{ alg: HS256, secret: x, sekret: y }")).find("unknown key \"sekret\""),
      std::string::npos);
}

TEST_F(AuthConfigTest, KidsAreUnique) {
  EXPECT_EQ(problems("auth:\n"
                     "  jwt:\n"
                     "    keys:\n"
                     "      - { alg: HS256, secret: \"${PB_JWT_SECRET}\", kid: a }\n"
                     "      - { alg: RS256, file: " +
                     rsa_ +
                     ", kid: a }\n"
                     "streams:\n"
                     "  - name: orders\n"
                     "    url: http://127.0.0.1:9000/orders\n"),
            "pb.yaml:5:9: auth.jwt.keys[1]: kid \"a\" is used twice (first at line 4); a kid "
            "must pick one key");
}

TEST_F(AuthConfigTest, AKeyIsUsedWithExactlyOneAlgorithm) {
  const std::string s = "streams:\n  - name: orders\n    url: http://127.0.0.1:9000/orders\n";
  EXPECT_EQ(problems("auth:\n"
                     "  jwt:\n"
                     "    keys:\n"
                     "      - { alg: RS256, file: " +
                     rsa_ +
                     " }\n"
                     "      - { alg: RS512, file: " +
                     rsa_ + ", kid: other }\n" + s),
            "pb.yaml:5:9: auth.jwt.keys[1]: uses the same key material as the RS256 key at line "
            "4; a key must be used with exactly one algorithm (RFC 8725 §3.1)");
  const std::string secret_twice = problems(
      "auth:\n"
      "  jwt:\n"
      "    keys:\n"
      "      - { alg: HS256, secret: \"${PB_JWT_SECRET}${PB_JWT_SECRET}\" }\n"
      "      - { alg: HS512, secret: \"${PB_JWT_SECRET}${PB_JWT_SECRET}\" }\n" +
      s);
  EXPECT_NE(secret_twice.find("exactly one algorithm"), std::string::npos) << secret_twice;
  EXPECT_EQ(secret_twice.find(kSecret), std::string::npos);
  // The same key twice under one algorithm (two kids during a rotation) is fine.
  EXPECT_EQ(problems("auth:\n"
                     "  jwt:\n"
                     "    keys:\n"
                     "      - { alg: RS256, file: " +
                     rsa_ +
                     ", kid: a }\n"
                     "      - { alg: RS256, file: " +
                     rsa_ + ", kid: b }\n" + s),
            "");
}

TEST_F(AuthConfigTest, SectionShapeAndValues) {
  const std::string s = "streams:\n  - name: orders\n    url: http://127.0.0.1:9000/orders\n";
  EXPECT_EQ(problems("auth:\n  cookie: pb_token\n" + s),
            "pb.yaml:2:3: auth: needs jwt (keys that sign tokens) or tokens (static bearer "
            "tokens), or both: nothing could authenticate a client");
  EXPECT_EQ(problems("auth:\n  jwt:\n    issuer: x\n" + s),
            "pb.yaml:3:5: auth.jwt: missing required key \"keys\" (the keys tokens are signed "
            "with)");
  EXPECT_EQ(problems("auth:\n  jwt: { keys: [] }\n" + s),
            "pb.yaml:2:16: auth.jwt.keys: needs at least one key");
  EXPECT_EQ(problems("auth:\n  tokens: [\"${PB_READ_TOKEN}\"]\n  jwt:\n    keys: [{ alg: HS256, "
                     "secret: \"${PB_JWT_SECRET}\" }]\n    leeway: 10m\n" +
                     s),
            "pb.yaml:5:13: auth.jwt.leeway: 10m is out of range 0s..5m");
  EXPECT_EQ(problems("auth:\n  tokens: [\"${PB_READ_TOKEN}\"]\n  query_param: stream\n" + s),
            "pb.yaml:3:16: auth.query_param: \"stream\" is a parameter pollbridge itself reads; "
            "pick another name, like access_token");
  EXPECT_EQ(problems("auth:\n  tokens: [\"${PB_READ_TOKEN}\"]\n  query_param: \"a b\"\n" + s),
            "pb.yaml:3:16: auth.query_param: \"a b\" is not a plain parameter name (A-Z a-z 0-9 - "
            ". _ ~)");
  EXPECT_EQ(problems("auth:\n  tokens: [\"${PB_READ_TOKEN}\"]\n  cookie: \"a;b\"\n" + s),
            "pb.yaml:3:11: auth.cookie: \"a;b\" is not a cookie name (letters, digits and "
            "!#$%&'*+-.^_`|~ only, RFC 6265)");
  EXPECT_EQ(problems("auth:\n  tokens: [\"${PB_READ_TOKEN}\"]\n  jwt:\n    keys: [{ alg: HS256, "
                     "secret: \"${PB_JWT_SECRET}\" }]\n    audience: \"\"\n" +
                     s),
            "pb.yaml:5:15: auth.jwt.audience: needs non-empty audience values (the aud your "
            "tokens carry)");
  EXPECT_EQ(problems("auth: yes\n" + s), "pb.yaml:1:7: auth: expected a map, got \"yes\"");
  EXPECT_NE(problems("auth:\n  tokens: [x]\n  tokenz: [y]\n" + s).find("did you mean \"tokens\""),
            std::string::npos);
}

TEST_F(AuthConfigTest, StaticTokensAreCheckedWithoutShowingThem) {
  const std::string s = "streams:\n  - name: orders\n    url: http://127.0.0.1:9000/orders\n";
  const std::string short_token = problems("auth:\n  tokens: [\"${PB_SHORT_TOKEN}\"]\n" + s);
  EXPECT_EQ(short_token,
            "pb.yaml:2:12: auth.tokens[0]: the token is too short: use a random value of at "
            "least 16 characters (openssl rand -hex 32)");
  const std::string twice =
      problems("auth:\n  tokens: [\"${PB_READ_TOKEN}\", \"${PB_READ_TOKEN}\"]\n" + s);
  EXPECT_EQ(twice,
            "pb.yaml:2:32: auth.tokens[1]: the same token is listed twice (also "
            "auth.tokens[0])");
  const std::string spaced = problems("auth:\n  tokens: [\"has a space in it, sixteen+\"]\n" + s);
  EXPECT_NE(spaced.find("to be sent as \"Authorization: Bearer <token>\""), std::string::npos);
  for (const std::string& m : {short_token, twice, spaced}) {
    EXPECT_EQ(m.find(kToken), std::string::npos) << m;
    EXPECT_EQ(m.find("short-tok"), std::string::npos) << m;
    EXPECT_EQ(m.find("has a space"), std::string::npos) << m;
  }
  EXPECT_EQ(problems("auth:\n  tokens: []\n" + s),
            "pb.yaml:2:11: auth.tokens: needs at least one token");
}

TEST_F(AuthConfigTest, StreamAuthModes) {
  const std::string open_stream =
      "streams:\n  - name: orders\n    url: http://127.0.0.1:9000/orders\n";
  EXPECT_EQ(problems(open_stream + "    auth: required\n"),
            "pb.yaml:4:11: streams[0].auth: required needs the top-level auth: section (the keys "
            "or tokens that clients authenticate with)");
  EXPECT_EQ(problems(open_stream + "    auth: upstream\n"),
            "pb.yaml:4:11: streams[0].auth: upstream needs forward_headers: the client headers "
            "the upstream authenticates, like forward_headers: [Cookie]");
  EXPECT_EQ(problems(open_stream + "    auth: public\n"),
            "pb.yaml:4:11: streams[0].auth: \"public\" is not one of none, required, upstream");
  EXPECT_EQ(problems(open_stream + "    auth: upstream\n    forward_headers: [Host]\n"),
            "pb.yaml:5:22: streams[0].forward_headers: Host cannot be forwarded: it is a "
            "hop-by-hop or framing header");
  EXPECT_EQ(problems(open_stream + "    forward_headers: [Cookie, cookie]\n"),
            "pb.yaml:4:22: streams[0].forward_headers: cookie is listed twice (header names "
            "ignore case)");
  EXPECT_EQ(
      problems(open_stream + "    headers: { X-User: fixed }\n    forward_headers: [x-user]\n"),
      "pb.yaml:5:22: streams[0].forward_headers: x-user is also set in headers; a header "
      "is either fixed or forwarded from each client");
  EXPECT_NE(
      problems(open_stream + "    forward_headers: [\"Bad Name\"]\n").find("not a valid header"),
      std::string::npos);
  EXPECT_NE(problems(open_stream + "    forward_headers: [If-None-Match]\n").find("ETag"),
            std::string::npos);
  EXPECT_EQ(problems(open_stream + "    persist: maybe\n"),
            "pb.yaml:4:14: streams[0].persist: expected true or false, got \"maybe\"");
}

TEST_F(AuthConfigTest, BindingsNeedAParameterAndJwts) {
  const std::string param_stream =
      "streams:\n"
      "  - name: customer\n"
      "    url: http://127.0.0.1:9000/c/{customer}\n"
      "    path: /events/customer/{customer}\n"
      "    params: { customer: \"^[0-9]+$\" }\n";
  const std::string jwt =
      "auth:\n  jwt:\n    keys: [{ alg: HS256, secret: \"${PB_JWT_SECRET}\" }]\n";
  EXPECT_EQ(problems(jwt + param_stream + "    bind: { region: sub }\n"),
            "pb.yaml:9:13: streams[0].bind: \"region\" is not a parameter of this stream "
            "(declare it in params)");
  EXPECT_EQ(problems(jwt + param_stream + "    bind: { customer: \"\" }\n"),
            "pb.yaml:9:23: streams[0].bind.customer: needs the name of a claim, like sub");
  EXPECT_EQ(problems(jwt + param_stream + "    auth: none\n    bind: { customer: sub }\n"),
            "pb.yaml:10:11: streams[0].bind: binds parameters to token claims and needs auth: "
            "required");
  EXPECT_EQ(problems(param_stream + "    bind: { customer: sub }\n"),
            "pb.yaml:6:11: streams[0].bind: binds parameters to token claims and needs auth: "
            "required");
  EXPECT_EQ(problems("auth:\n  tokens: [\"${PB_READ_TOKEN}\"]\n" + param_stream.substr(0) +
                     "    bind: { customer: sub }\n"),
            "pb.yaml:8:11: streams[0].bind: needs auth.jwt: claims come from JWTs (static tokens "
            "carry none)");
  EXPECT_EQ(problems(jwt + param_stream + "    bind: { customer: sub }\n"), "");
}

TEST_F(AuthConfigTest, CorsCredentialsAndAdminListen) {
  const std::string s = "streams:\n  - name: orders\n    url: http://127.0.0.1:9000/orders\n";
  EXPECT_EQ(problems("server:\n  cors_origins: \"*\"\n  cors_credentials: true\n" + s),
            "pb.yaml:3:21: server.cors_credentials: cannot be true while cors_origins is \"*\": "
            "credentials are only ever sent to origins listed by name (list them in "
            "cors_origins)");
  EXPECT_EQ(problems("server:\n  cors_credentials: true\n" + s),
            "pb.yaml:2:21: server.cors_credentials: needs cors_origins: the origins allowed to "
            "send credentials");
  EXPECT_EQ(problems("server:\n  cors_origins: \"*\"\n  cors_credentials: false\n" + s), "");
  EXPECT_EQ(problems("server:\n  admin_listen: 127.0.0.1:9901\n" + s),
            "pb.yaml:2:17: server.admin_listen: needs admin_token: the admin endpoints are "
            "disabled without it");
  EXPECT_EQ(problems("server:\n  admin_token: t\n  listen: 127.0.0.1:8080\n  admin_listen: "
                     "127.0.0.1:8080\n" +
                     s),
            "pb.yaml:4:17: server.admin_listen: \"127.0.0.1:8080\" is the main listen address; "
            "give another address or drop admin_listen");
  EXPECT_EQ(problems("server:\n  admin_token: t\n  admin_listen: nowhere\n" + s),
            "pb.yaml:3:17: server.admin_listen: \"nowhere\" needs a port (host:port, like "
            "127.0.0.1:8080)");
  const Config c = parse("server:\n  admin_token: t\n  admin_listen: \"[::1]:0\"\n" + s);
  EXPECT_EQ(c.server.admin_host, "::1");
  EXPECT_EQ(c.server.admin_port, 0);
}

TEST_F(AuthConfigTest, NoMessageEverHoldsASecret) {
  // Every kind of mistake at once; the secret values appear nowhere.
  const std::string all = problems(
      "auth:\n"
      "  jwt:\n"
      "    keys:\n"
      "      - { alg: RS256, secret: \"" +
      kSecret +
      "\" }\n"
      "      - { alg: HS256, secret: \"" +
      kSecret.substr(0, 20) +
      "\" }\n"
      "      - { alg: hs256, secret: \"" +
      kSecret +
      "\" }\n"
      "  tokens: [\"" +
      kToken + "\", \"" + kToken +
      "\", \"tok-short\"]\n"
      "streams:\n"
      "  - name: orders\n"
      "    url: http://127.0.0.1:9000/orders\n");
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.find(kSecret), std::string::npos) << all;
  EXPECT_EQ(all.find(kSecret.substr(0, 20)), std::string::npos) << all;
  EXPECT_EQ(all.find(kToken), std::string::npos) << all;
  EXPECT_EQ(all.find("tok-short"), std::string::npos) << all;
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::config
