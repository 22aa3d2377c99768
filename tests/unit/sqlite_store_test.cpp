#include "stream/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "stream/memory_store.h"
#include "support/file_local.h"
#include "support/proxy_process.h"

namespace pb::stream {
namespace PB_FILE_LOCAL {

namespace fs = std::filesystem;

std::vector<EventPtr> events(std::uint64_t from, std::uint64_t to) {
  std::vector<EventPtr> out;
  for (auto s = from; s <= to; ++s) {
    out.push_back(
        make_event(s, "0000abcd-" + std::to_string(s), "patch", "[" + std::to_string(s) + "]"));
  }
  return out;
}

Commit commit(std::uint64_t from, std::uint64_t to, const char* doc, std::uint64_t keep_from = 1,
              std::int64_t fetched = 0) {
  Commit c;
  c.epoch = "0000abcd";
  c.events = events(from, to);
  if (doc) {
    c.doc = std::make_shared<const json::Json>(json::parse(doc));
    c.doc_seq = to;
    c.doc_changed_ms = 1000;
  }
  c.fetched_ms = fetched;
  c.keep_from = keep_from;
  return c;
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
    s.reset("orders", "orders", "0000abcd");
    s.append("orders", commit(1, 3, R"({"v":1.10})", 1, 2000));
    Commit c = commit(4, 4, nullptr, 1, 3000);
    c.doc_seq = 3;
    c.doc_changed_ms = 1000;
    s.append("orders", c);
  }
  SqliteStore s(dir.path(), false, "boot-a");
  EXPECT_FALSE(s.epochs_renewed());
  auto st = s.load("orders", "orders", 100);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->epoch, "0000abcd");
  EXPECT_EQ(st->seq, 4u);
  EXPECT_EQ(st->doc_seq, 3u);
  EXPECT_EQ(st->doc_text, R"({"v":1.10})");
  EXPECT_EQ(st->doc_changed_ms, 1000);
  EXPECT_EQ(st->fetched_ms, 3000);
  ASSERT_EQ(st->history.size(), 4u);
  EXPECT_EQ(st->history[3]->data, "[4]");
  EXPECT_EQ(st->history[3]->id, "0000abcd-4");
  EXPECT_FALSE(s.load("other", "other", 100));
}

// The stores of one process drop what the stream no longer keeps
// (Commit::keep_from); the Redis store trims by count instead. The rest of
// the contract every store shares is store_conformance_test.cpp.
TEST(SqliteStoreTest, HistoryIsPrunedFromWhatTheStreamKeeps) {
  testing::TempDir dir;
  SqliteStore sqlite(dir.path(), false, "b");
  MemoryStore memory;
  for (Store* s : {static_cast<Store*>(&sqlite), static_cast<Store*>(&memory)}) {
    s->reset("k", "k", "0000abcd");
    for (std::uint64_t i = 1; i <= 50; ++i) {
      s->append("k", commit(i, i, "1", i > 5 ? i - 4 : 1));
    }
    s->release("k", 0);
    auto st = s->load("k", "k", 1000);
    ASSERT_EQ(st->history.size(), 5u);
    EXPECT_EQ(st->history.front()->seq, 46u);
  }
}

TEST(SqliteStoreTest, AnEventIsNeverRecordedTwice) {
  testing::TempDir dir;
  SqliteStore s(dir.path(), false, "b");
  s.reset("k", "k", "0000abcd");
  s.append("k", commit(1, 2, "1"));
  // The same seq again, with other content: refused, not replaced.
  Commit again = commit(2, 2, "2");
  EXPECT_THROW(s.append("k", again), StoreError);
  s.release("k", 0);
  auto st = s.load("k", "k", 10);
  EXPECT_EQ(st->history.back()->data, "[2]");
  EXPECT_EQ(st->doc_text, "1");
}

TEST(SqliteStoreTest, ReleasedKeysAreDeletedAtTheirExpiry) {
  testing::TempDir dir;
  SqliteStore s(dir.path(), false, "b");
  for (const char* k : {"p/1", "p/2", "p/3"}) {
    s.reset(k, "p", "0000abcd");
    s.append(k, commit(1, 3, "1"));
  }
  s.release("p/1", 5000);
  s.release("p/2", 9000);
  s.release("p/3", 0);  // kept until the stream leaves the config
  EXPECT_EQ(s.sweep(4999), 0u);
  EXPECT_EQ(s.sweep(5000), 1u);
  EXPECT_EQ(s.saved_keys(), 2u);
  // Loading again cancels the expiry.
  ASSERT_TRUE(s.load("p/2", "p", 10));
  EXPECT_EQ(s.sweep(100000), 0u);
  EXPECT_EQ(s.saved_keys(), 2u);
  EXPECT_EQ(s.owned_keys(), 1u);
}

TEST(SqliteStoreTest, StreamsLeavingTheConfigAreForgotten) {
  testing::TempDir dir;
  SqliteStore s(dir.path(), false, "b");
  for (const char* k : {"a", "b/1", "b/2", "c"}) {
    s.reset(k, std::string(k).substr(0, 1), "0000abcd");
    s.append(k, commit(1, 1, "1"));
  }
  for (const char* k : {"a", "b/1", "b/2"}) s.release(k, 0);
  // "c" is owned: kept even though its stream is not named.
  EXPECT_EQ(s.forget_streams_except({"a"}), 2u);
  EXPECT_EQ(s.saved_keys(), 2u);
  EXPECT_TRUE(s.load("a", "a", 10));
}

TEST(SqliteStoreTest, CrashOnTheSameBootKeepsTheEpoch) {
  testing::TempDir dir, crashed;
  SqliteStore s(dir.path(), false, "boot-a");
  s.reset("k", "k", "0000abcd");
  s.append("k", commit(1, 2, "1"));
  snapshot_files(dir.path(), crashed.path());
  SqliteStore after(crashed.path(), false, "boot-a");
  EXPECT_FALSE(after.epochs_renewed());
  EXPECT_EQ(after.load("k", "k", 10)->epoch, "0000abcd");
}

TEST(SqliteStoreTest, CrashAcrossARebootWithoutFsyncRenewsTheEpochButKeepsTheDocument) {
  testing::TempDir dir, crashed;
  SqliteStore s(dir.path(), false, "boot-a");
  s.reset("k", "k", "0000abcd");
  s.append("k", commit(1, 2, R"({"a":1})"));
  snapshot_files(dir.path(), crashed.path());
  SqliteStore after(crashed.path(), false, "boot-b");
  EXPECT_TRUE(after.epochs_renewed());
  auto st = after.load("k", "k", 10);
  ASSERT_TRUE(st);
  EXPECT_NE(st->epoch, "0000abcd");
  EXPECT_EQ(st->seq, 0u);
  EXPECT_TRUE(st->history.empty());
  EXPECT_EQ(st->doc_text, R"({"a":1})");
}

TEST(SqliteStoreTest, ARebootRenewsTheEpochOfInstancesLoadedOnlyInALaterRun) {
  // Two instances of a parameterized stream; the crash is followed by a
  // reboot, a run that loads only "p/a" and stops cleanly, and a run that
  // loads "p/b": "p/b" must not come back with the epoch whose tail the
  // crash may have lost.
  testing::TempDir dir, crashed;
  {
    SqliteStore s(dir.path(), false, "boot-a");
    for (const char* k : {"p/a", "p/b"}) {
      s.reset(k, "p", "0000abcd");
      s.append(k, commit(1, 3, R"({"a":1})"));
    }
    snapshot_files(dir.path(), crashed.path());
  }
  std::string epoch_a;
  {
    SqliteStore after(crashed.path(), false, "boot-b");
    EXPECT_TRUE(after.epochs_renewed());
    auto a = after.load("p/a", "p", 10);
    ASSERT_TRUE(a);
    EXPECT_NE(a->epoch, "0000abcd");
    epoch_a = a->epoch;
  }  // a clean stop
  SqliteStore later(crashed.path(), false, "boot-b");
  EXPECT_FALSE(later.epochs_renewed());
  auto a = later.load("p/a", "p", 10);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->epoch, epoch_a) << "renewed once, not at every start";
  auto b = later.load("p/b", "p", 10);
  ASSERT_TRUE(b);
  EXPECT_NE(b->epoch, "0000abcd");
  EXPECT_NE(b->epoch, epoch_a) << "each instance its own epoch";
  EXPECT_EQ(b->seq, 0u);
  EXPECT_TRUE(b->history.empty());
  EXPECT_EQ(b->doc_text, R"({"a":1})");
}

TEST(SqliteStoreTest, WithFsyncARebootKeepsTheEpoch) {
  testing::TempDir dir, crashed;
  SqliteStore s(dir.path(), true, "boot-a");
  s.reset("k", "k", "0000abcd");
  s.append("k", commit(1, 1, "1"));
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
  EXPECT_FALSE(s.load("k", "k", 10));
  s.reset("k", "k", "0000abcd");
  s.append("k", commit(1, 1, "1"));
  s.release("k", 0);
  EXPECT_EQ(s.load("k", "k", 10)->seq, 1u);
}

TEST(SqliteStoreTest, InconsistentRowsAreNotTrusted) {
  testing::TempDir dir;
  {
    SqliteStore s(dir.path(), false, "b");
    s.reset("k", "k", "0000abcd");
    // A gap in the history (3 missing) cannot come from pollbridge.
    s.append("k", commit(1, 2, "1"));
    s.append("k", commit(4, 4, "1"));
  }
  SqliteStore s(dir.path(), false, "b");
  EXPECT_FALSE(s.load("k", "k", 10));
}

TEST(SqliteStoreTest, ASecondStoreOnTheSameDirectoryIsRefusedWithTheHoldersPid) {
  testing::TempDir dir;
  SqliteStore first(dir.path(), false, "b");
  // flock is per open file description: a second process is the real case.
  pid_t child = fork();
  if (child == 0) {
    try {
      SqliteStore second(dir.path(), false, "b");
      _exit(1);
    } catch (const StoreError& e) {
      std::string want = "(pid " + std::to_string(getppid()) + ")";
      bool named = std::string(e.what()).find(want) != std::string::npos;
      _exit(e.kind() == StoreErrorKind::kBusy && named ? 0 : 2);
    }
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SqliteStoreTest, ADatabaseLockedByAnotherProcessIsWaitedForThenReportedNotMovedAside) {
  testing::TempDir dir;
  { SqliteStore s(dir.path(), false, "b"); }
  // Another program holds an exclusive lock on the database file.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("pollbridge.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  auto started = std::chrono::steady_clock::now();
  try {
    SqliteStore s(dir.path(), false, "b");
    FAIL() << "opened a database that another process holds locked";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreErrorKind::kBusy) << e.what();
  }
  EXPECT_GE(std::chrono::steady_clock::now() - started,
            std::chrono::milliseconds(kBusyTimeoutMs / 2));
  sqlite3_close(other);
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find("corrupt"), std::string::npos);
  }
  SqliteStore s(dir.path(), false, "b");  // and it is fine once released
  EXPECT_TRUE(s.moved_aside().empty());
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::stream
