// The header parsing behind GET /pollbridge.js (server/client_script.h):
// Accept-Encoding with q-values; and the embedded client.
#include "server/client_script.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include "support/file_local.h"

namespace pb::server {
namespace PB_FILE_LOCAL {

TEST(ClientScriptAcceptEncoding, GzipNeedsAPositiveQualityForGzipOrStar) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(accepts_gzip(" gzip ; q=0.001"));
  EXPECT_TRUE(accepts_gzip("x-gzip"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("br, *;q=0.1"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0.000"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0, *"));  // refused by name, whatever * says
  EXPECT_FALSE(accepts_gzip("*;q=0"));
  EXPECT_FALSE(accepts_gzip("gzipper"));
}

TEST(ClientScript, EmbedsTheModuleOfThisSourceTreeWithItsVersion) {
  std::ifstream in(std::string(PB_SOURCE_DIR) + "/clients/js/pollbridge.js", std::ios::binary);
  std::stringstream file;
  file << in.rdbuf();
  const ClientScript& s = client_script();
  EXPECT_EQ(std::string(s.identity.bytes), file.str());
  EXPECT_EQ(s.version, PB_VERSION);
  EXPECT_NE(file.str().find("export const VERSION = '" + s.version + "';"), std::string::npos);
  ASSERT_FALSE(s.gzip.bytes.empty());
  EXPECT_LT(s.gzip.bytes.size(), s.identity.bytes.size() / 2);
  EXPECT_EQ(s.identity.etag.size(), 34u);  // quoted 32 hex digits, strong
  EXPECT_NE(s.identity.etag, s.gzip.etag);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::server
