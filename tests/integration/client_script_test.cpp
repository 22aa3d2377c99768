// GET /pollbridge.js on the real binary: the bytes of clients/js/pollbridge.js
// (no static_dir needed), strong ETags per representation, 304, gzip made
// by pollbridge, caching by URL version, HEAD, CORS.
#include <httplib.h>
#include <openssl/sha.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

std::string module_source() {
  std::ifstream in(std::string(PB_SOURCE_DIR) + "/clients/js/pollbridge.js", std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string strong_tag_of(const std::string& bytes) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), d);
  char hex[33];
  for (int i = 0; i < 16; ++i) snprintf(hex + 2 * i, 3, "%02x", d[i]);
  return "\"" + std::string(hex, 32) + "\"";
}

std::string gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

class ClientScriptTest : public ::testing::Test {
 protected:
  void start(const std::string& server_extra = "") {
    proxy_ = std::make_unique<ProxyProcess>(
        "server:\n  listen: \"127.0.0.1:0\"\n" + server_extra +
        "state: { dir: \"\" }\n"
        "streams:\n  - name: s\n    url: http://127.0.0.1:1/unused\n    interval: 1h\n");
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
    http_ = std::make_unique<httplib::Client>("127.0.0.1", proxy_->port());
    http_->set_decompress(false);  // see the bytes pollbridge sends
  }
  httplib::Result get(const std::string& target, httplib::Headers h = {}) {
    if (!h.count("Accept-Encoding")) h.emplace("Accept-Encoding", "identity");
    return http_->Get(target, h);
  }

  std::unique_ptr<ProxyProcess> proxy_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(ClientScriptTest, ServesTheModuleWithAStrongETagAndTheRightType) {
  start();
  auto r = get("/pollbridge.js");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, module_source());
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(r->get_header_value("ETag"), strong_tag_of(module_source()));
  EXPECT_FALSE(r->has_header("Content-Encoding"));
  EXPECT_EQ(r->get_header_value("Vary"), "Accept-Encoding, Origin");
  EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r->get_header_value("Content-Length"), std::to_string(module_source().size()));
}

TEST_F(ClientScriptTest, VersionedUrlIsImmutableOthersRevalidate) {
  start();
  auto versioned = get(std::string("/pollbridge.js?v=") + PB_VERSION);
  ASSERT_TRUE(versioned);
  EXPECT_EQ(versioned->status, 200);
  EXPECT_EQ(versioned->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(versioned->body, module_source());
  for (const char* target : {"/pollbridge.js", "/pollbridge.js?v=0.0.0-old", "/pollbridge.js?v="}) {
    auto r = get(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 200) << target;
    EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache") << target;
    EXPECT_EQ(r->body, module_source()) << target;
  }
}

TEST_F(ClientScriptTest, IfNoneMatchGets304WithoutABody) {
  start();
  const std::string tag = strong_tag_of(module_source());
  for (const std::string& inm : {tag, "W/" + tag, "\"other\", " + tag, std::string("*")}) {
    auto r = get("/pollbridge.js?v=" PB_VERSION, {{"If-None-Match", inm}});
    ASSERT_TRUE(r) << inm;
    EXPECT_EQ(r->status, 304) << inm;
    EXPECT_EQ(r->body, "") << inm;
    EXPECT_EQ(r->get_header_value("ETag"), tag);
    EXPECT_EQ(r->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
  }
  auto changed = get("/pollbridge.js", {{"If-None-Match", "\"0123456789abcdef0123456789abcdef\""}});
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->status, 200);
  EXPECT_EQ(changed->body, module_source());
}

TEST_F(ClientScriptTest, GzipIsItsOwnRepresentationWithItsOwnTag) {
  start();
  auto gz = get("/pollbridge.js", {{"Accept-Encoding", "gzip, deflate, br"}});
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->status, 200);
  EXPECT_EQ(gz->get_header_value("Content-Encoding"), "gzip");
  EXPECT_LT(gz->body.size(), module_source().size() / 2);
  EXPECT_EQ(gunzip(gz->body), module_source());
  const std::string gz_tag = gz->get_header_value("ETag");
  EXPECT_EQ(gz_tag, strong_tag_of(gz->body));
  EXPECT_NE(gz_tag, strong_tag_of(module_source()));
  // Its tag revalidates the gzip form only.
  auto again = get("/pollbridge.js", {{"Accept-Encoding", "gzip"}, {"If-None-Match", gz_tag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_FALSE(again->has_header("Content-Encoding"));
  auto plain = get("/pollbridge.js", {{"If-None-Match", gz_tag}});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200);
  EXPECT_EQ(plain->body, module_source());
  // Refused by quality: identity.
  auto refused = get("/pollbridge.js", {{"Accept-Encoding", "gzip;q=0, br"}});
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->has_header("Content-Encoding"));
  EXPECT_EQ(refused->body, module_source());
}

TEST_F(ClientScriptTest, HeadGivesTheHeadersOnly) {
  start();
  auto r = http_->Head("/pollbridge.js?v=" PB_VERSION);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(r->get_header_value("Content-Length"), std::to_string(module_source().size()));
  EXPECT_EQ(r->get_header_value("ETag"), strong_tag_of(module_source()));
}

TEST_F(ClientScriptTest, AllowedOriginsMayImportItCrossOrigin) {
  start("  cors_origins: [\"https://app.example\"]\n");
  auto allowed = get("/pollbridge.js?v=" PB_VERSION, {{"Origin", "https://app.example"}});
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
  EXPECT_EQ(allowed->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(allowed->get_header_value("Vary"), "Accept-Encoding, Origin");
  auto other = get("/pollbridge.js?v=" PB_VERSION, {{"Origin", "https://evil.example"}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
  EXPECT_FALSE(other->has_header("Access-Control-Allow-Origin"));
}

TEST_F(ClientScriptTest, OtherMethodsAreRefused) {
  start();
  auto r = http_->Post("/pollbridge.js", "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD");
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
