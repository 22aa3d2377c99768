#include "stream/sqlite_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/proxy_process.h"

namespace pb::stream {
namespace {

namespace fs = std::filesystem;

std::vector<EventPtr> events(std::uint64_t from, std::uint64_t to) {
  std::vector<EventPtr> out;
  for (auto s = from; s <= to; ++s) {
    out.push_back(
        make_event(s, "0000abcd-" + std::to_string(s), "patch", "[" + std::to_string(s) + "]"));
  }
  return out;
}

// Copies the database files while the store is open: what a crash leaves.
void snapshot_files(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  for (const char* f : {"pollbridge.db", "pollbridge.db-wal", "pollbridge.db-shm"}) {
    if (fs::exists(from + "/" + f)) fs::copy_file(from + "/" + f, to + "/" + f);
  }
}

TEST(SqliteStoreTest, StateSurvivesReopening) {
  testing::TempDir dir;
  {
    SqliteStore s(dir.path(), false, "boot-a");
    s.reset("orders", "0000abcd");
    std::string doc = R"({"v":1.10})";
    s.append("orders", "0000abcd", events(1, 3), &doc, 3, 1000, 2000, 10);
    s.append("orders", "0000abcd", events(4, 4), nullptr, 3, 1000, 3000, 10);
  }
  SqliteStore s(dir.path(), false, "boot-a");
  EXPECT_FALSE(s.epochs_renewed());
  auto st = s.load("orders");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->epoch, "0000abcd");
  EXPECT_EQ(st->seq, 4u);
  EXPECT_EQ(st->doc_seq, 3u);
  EXPECT_EQ(st->doc, R"({"v":1.10})");
  EXPECT_EQ(st->doc_changed_ms, 1000);
  EXPECT_EQ(st->fetched_ms, 3000);
  ASSERT_EQ(st->history.size(), 4u);
  EXPECT_EQ(st->history[3].data, "[4]");
  EXPECT_FALSE(s.load("other"));
}

TEST(SqliteStoreTest, HistoryIsBounded) {
  testing::TempDir dir;
  SqliteStore s(dir.path(), false, "b");
  s.reset("k", "0000abcd");
  std::string doc = "1";
  for (std::uint64_t i = 1; i <= 50; ++i) s.append("k", "0000abcd", events(i, i), &doc, i, 0, 0, 5);
  auto st = s.load("k");
  ASSERT_EQ(st->history.size(), 5u);
  EXPECT_EQ(st->history.front().seq, 46u);
}

TEST(SqliteStoreTest, CrashOnTheSameBootKeepsTheEpoch) {
  testing::TempDir dir, crashed;
  SqliteStore s(dir.path(), false, "boot-a");
  s.reset("k", "0000abcd");
  std::string doc = "1";
  s.append("k", "0000abcd", events(1, 2), &doc, 2, 0, 0, 10);
  snapshot_files(dir.path(), crashed.path());
  SqliteStore after(crashed.path(), false, "boot-a");
  EXPECT_FALSE(after.epochs_renewed());
  EXPECT_EQ(after.load("k")->epoch, "0000abcd");
}

TEST(SqliteStoreTest, CrashAcrossARebootWithoutFsyncRenewsTheEpochButKeepsTheDocument) {
  testing::TempDir dir, crashed;
  SqliteStore s(dir.path(), false, "boot-a");
  s.reset("k", "0000abcd");
  std::string doc = R"({"a":1})";
  s.append("k", "0000abcd", events(1, 2), &doc, 2, 0, 0, 10);
  snapshot_files(dir.path(), crashed.path());
  SqliteStore after(crashed.path(), false, "boot-b");
  EXPECT_TRUE(after.epochs_renewed());
  auto st = after.load("k");
  ASSERT_TRUE(st);
  EXPECT_NE(st->epoch, "0000abcd");
  EXPECT_EQ(st->seq, 0u);
  EXPECT_TRUE(st->history.empty());
  EXPECT_EQ(st->doc, R"({"a":1})");
}

TEST(SqliteStoreTest, WithFsyncARebootKeepsTheEpoch) {
  testing::TempDir dir, crashed;
  SqliteStore s(dir.path(), true, "boot-a");
  s.reset("k", "0000abcd");
  std::string doc = "1";
  s.append("k", "0000abcd", events(1, 1), &doc, 1, 0, 0, 10);
  snapshot_files(dir.path(), crashed.path());
  SqliteStore after(crashed.path(), true, "boot-b");
  EXPECT_FALSE(after.epochs_renewed());
}

TEST(SqliteStoreTest, CorruptFileIsMovedAsideAndAFreshOneStarts) {
  testing::TempDir dir;
  {
    std::ofstream f(dir.file("pollbridge.db"));
    f << std::string(8192, 'x');
  }
  SqliteStore s(dir.path(), false, "b");
  EXPECT_FALSE(s.moved_aside().empty());
  EXPECT_TRUE(fs::exists(s.moved_aside()));
  EXPECT_FALSE(s.load("k"));
  s.reset("k", "0000abcd");
  std::string doc = "1";
  s.append("k", "0000abcd", events(1, 1), &doc, 1, 0, 0, 10);
  EXPECT_EQ(s.load("k")->seq, 1u);
}

TEST(SqliteStoreTest, InconsistentRowsAreNotTrusted) {
  testing::TempDir dir;
  {
    SqliteStore s(dir.path(), false, "b");
    s.reset("k", "0000abcd");
    std::string doc = "1";
    // A gap in the history (3 missing) cannot come from pollbridge.
    s.append("k", "0000abcd", events(1, 2), &doc, 2, 0, 0, 10);
    s.append("k", "0000abcd", events(4, 4), &doc, 4, 0, 0, 10);
  }
  SqliteStore s(dir.path(), false, "b");
  EXPECT_FALSE(s.load("k"));
}

}  // namespace
}  // namespace pb::stream
