// If-None-Match against an entity tag (server/entity_tag.h), as every
// conditional route compares them.
#include "server/entity_tag.h"

#include <gtest/gtest.h>

#include "support/file_local.h"

namespace pb::server {
namespace PB_FILE_LOCAL {

TEST(EntityTag, ListsWeakTagsAndStar) {
  const std::string tag = "\"0123abcd\"";
  EXPECT_TRUE(none_match_hits("\"0123abcd\"", tag));
  EXPECT_TRUE(none_match_hits("W/\"0123abcd\"", tag));
  EXPECT_TRUE(none_match_hits("\"x\", W/\"y\", \"0123abcd\"", tag));
  EXPECT_TRUE(none_match_hits(" * ", tag));
  EXPECT_FALSE(none_match_hits("\"0123abc\"", tag));
  EXPECT_FALSE(none_match_hits("0123abcd", tag));
  EXPECT_FALSE(none_match_hits("\"0123abcd", tag));
  EXPECT_FALSE(none_match_hits("", tag));
}

TEST(EntityTag, AWeakTagMatchesItsStrongFormBothWays) {
  EXPECT_TRUE(none_match_hits("\"v1\"", "W/\"v1\""));
  EXPECT_TRUE(none_match_hits("W/\"v1\"", "W/\"v1\""));
  EXPECT_FALSE(none_match_hits("W/\"v2\"", "W/\"v1\""));
}

// RFC 9110 8.8.3: etagc includes '*'; only the whole field "*" is the
// wildcard of 13.1.2.
TEST(EntityTag, AStarInsideATagIsNotTheWildcard) {
  const std::string tag = "\"abc\"";
  EXPECT_FALSE(none_match_hits("\"a*c\"", tag));
  EXPECT_FALSE(none_match_hits("W/\"*\"", tag));
  EXPECT_FALSE(none_match_hits("\"x\", \"*\"", tag));
  EXPECT_TRUE(none_match_hits("\"*\"", "\"*\""));
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::server
