#include "stream/sqlite_store.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "common/time_format.h"
#include "log/log.h"
#include "sse/event_id.h"

namespace pb::stream {
namespace {

// Finalizes a statement when it goes out of scope.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt* get() const { return s_; }
  void text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void integer(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void null(int i) { sqlite3_bind_null(s_, i); }
  int step() { return sqlite3_step(s_); }
  std::string column_text(int i) {
    const auto* p = sqlite3_column_text(s_, i);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(s_, i)))
             : std::string();
  }
  bool column_null(int i) { return sqlite3_column_type(s_, i) == SQLITE_NULL; }
  std::int64_t column_int(int i) { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3_stmt* s_;
};

// Rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("begin: ") + sqlite3_errmsg(db_));
    }
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("commit: ") + sqlite3_errmsg(db_));
    }
    done_ = true;
  }

 private:
  sqlite3* db_;
  bool done_ = false;
};

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS streams ("
    "  key TEXT PRIMARY KEY, epoch TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  doc_seq INTEGER NOT NULL, doc TEXT, doc_changed_ms INTEGER NOT NULL DEFAULT 0,"
    "  fetched_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS events ("
    "  key TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,"
    "  PRIMARY KEY (key, seq)) WITHOUT ROWID;";

}  // namespace

std::string SqliteStore::current_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

SqliteStore::SqliteStore(const std::string& dir, bool fsync, std::string boot_id)
    : dir_(dir), path_(dir + "/pollbridge.db"), fsync_(fsync), boot_id_(std::move(boot_id)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw std::runtime_error("state.dir " + dir_ + ": " + ec.message());
  open_or_recover();
}

SqliteStore::~SqliteStore() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!db_) return;
  try {
    set_meta("clean", "1");
  } catch (const std::exception& e) {
    log::error("state store: cannot record a clean shutdown", {{"error", e.what()}});
  }
  sqlite3_close_v2(db_);
}

void SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    throw std::runtime_error(msg);
  }
}

sqlite3_stmt* SqliteStore::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("prepare: ") + sqlite3_errmsg(db_));
  }
  return s;
}

std::string SqliteStore::meta(const std::string& name) {
  Stmt s(prepare("SELECT value FROM meta WHERE name = ?"));
  s.text(1, name);
  return s.step() == SQLITE_ROW ? s.column_text(0) : std::string();
}

void SqliteStore::set_meta(const std::string& name, const std::string& value) {
  Stmt s(
      prepare("INSERT INTO meta(name, value) VALUES(?, ?) "
              "ON CONFLICT(name) DO UPDATE SET value = excluded.value"));
  s.text(1, name);
  s.text(2, value);
  if (s.step() != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
}

void SqliteStore::open_or_recover() {
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                          nullptr) != SQLITE_OK) {
        throw std::runtime_error(db_ ? sqlite3_errmsg(db_) : "cannot open");
      }
      sqlite3_busy_timeout(db_, 5000);
      exec("PRAGMA journal_mode=WAL");
      exec(fsync_ ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
      {
        Stmt check(prepare("PRAGMA quick_check"));
        if (check.step() != SQLITE_ROW || check.column_text(0) != "ok") {
          throw std::runtime_error("integrity check failed");
        }
      }
      exec(kSchema);
      std::string clean = meta("clean");
      std::string prev_boot = meta("boot_id");
      std::string prev_fsync = meta("fsync");
      // The previous run died without a clean stop and the machine rebooted
      // since: without fsync its last commits may be gone.
      renew_epochs_ = clean == "0" && prev_boot != boot_id_ && prev_fsync != "1";
      set_meta("schema", "1");
      set_meta("clean", "0");
      set_meta("boot_id", boot_id_);
      set_meta("fsync", fsync_ ? "1" : "0");
      if (renew_epochs_) {
        log::warn(
            "state store: the previous run did not stop cleanly before a reboot; every stream "
            "starts a new epoch (clients resync with a snapshot)",
            {{"path", path_}});
      }
      return;
    } catch (const std::exception& e) {
      if (db_) sqlite3_close_v2(db_);
      db_ = nullptr;
      if (attempt == 1) throw std::runtime_error("state store " + path_ + ": " + e.what());
      moved_aside_ = path_ + ".corrupt-" + std::to_string(unix_ms(SystemClock::now()) / 1000);
      log::error("state store unreadable: moved aside, starting with empty state",
                 {{"path", path_}, {"error", e.what()}, {"moved_to", moved_aside_}});
      std::error_code ec;
      std::filesystem::rename(path_, moved_aside_, ec);
      for (const char* suffix : {"-wal", "-shm"}) {
        std::filesystem::rename(path_ + suffix, moved_aside_ + suffix, ec);
      }
    }
  }
}

std::optional<PersistedState> SqliteStore::load(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  PersistedState st;
  {
    Stmt s(
        prepare("SELECT epoch, seq, doc_seq, doc, doc_changed_ms, fetched_ms "
                "FROM streams WHERE key = ?"));
    s.text(1, key);
    if (s.step() != SQLITE_ROW) return std::nullopt;
    st.epoch = s.column_text(0);
    st.seq = static_cast<std::uint64_t>(s.column_int(1));
    st.doc_seq = static_cast<std::uint64_t>(s.column_int(2));
    if (!s.column_null(3)) st.doc = s.column_text(3);
    st.doc_changed_ms = s.column_int(4);
    st.fetched_ms = s.column_int(5);
  }
  {
    Stmt s(prepare("SELECT seq, type, data FROM events WHERE key = ? ORDER BY seq"));
    s.text(1, key);
    while (s.step() == SQLITE_ROW) {
      st.history.push_back(
          {static_cast<std::uint64_t>(s.column_int(0)), s.column_text(1), s.column_text(2)});
    }
  }
  // A row that does not add up is not trusted: the stream starts over.
  bool consistent = sse::parse_event_id(st.epoch + "-0").has_value() && st.doc_seq <= st.seq;
  for (std::size_t i = 0; consistent && i < st.history.size(); ++i) {
    std::uint64_t want = st.seq - (st.history.size() - 1 - i);
    consistent = st.history[i].seq == want;
  }
  if (!consistent) {
    log::warn("state store: saved state is inconsistent; starting a new history",
              {{"instance", key}});
    return std::nullopt;
  }
  if (renew_epochs_) {
    st.epoch = sse::new_epoch();
    st.seq = 0;
    st.doc_seq = 0;
    st.history.clear();
    Transaction tx(db_);
    {
      Stmt d(prepare("DELETE FROM events WHERE key = ?"));
      d.text(1, key);
      d.step();
    }
    {
      Stmt u(prepare("UPDATE streams SET epoch = ?, seq = 0, doc_seq = 0 WHERE key = ?"));
      u.text(1, st.epoch);
      u.text(2, key);
      u.step();
    }
    tx.commit();
  }
  return st;
}

void SqliteStore::reset(const std::string& key, const std::string& epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  {
    Stmt d(prepare("DELETE FROM events WHERE key = ?"));
    d.text(1, key);
    if (d.step() != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
  }
  {
    Stmt u(
        prepare("INSERT INTO streams(key, epoch, seq, doc_seq, doc) VALUES(?, ?, 0, 0, NULL) "
                "ON CONFLICT(key) DO UPDATE SET epoch = excluded.epoch, seq = 0, "
                "doc_seq = 0, doc = NULL, doc_changed_ms = 0, fetched_ms = 0"));
    u.text(1, key);
    u.text(2, epoch);
    if (u.step() != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
  }
  tx.commit();
  touched_.erase(key);
}

void SqliteStore::append(const std::string& key, const std::string& epoch,
                         const std::vector<EventPtr>& events, const std::string* doc,
                         std::uint64_t doc_seq, std::int64_t doc_changed_ms,
                         std::int64_t fetched_ms, std::size_t history) {
  if (events.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  {
    Stmt ins(prepare("INSERT OR REPLACE INTO events(key, seq, type, data) VALUES(?, ?, ?, ?)"));
    for (const auto& ev : events) {
      sqlite3_reset(ins.get());
      ins.text(1, key);
      ins.integer(2, static_cast<std::int64_t>(ev->seq));
      ins.text(3, ev->type);
      ins.text(4, ev->data);
      if (ins.step() != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    }
  }
  std::uint64_t last = events.back()->seq;
  {
    Stmt u(prepare(doc ? "INSERT INTO streams(key, epoch, seq, doc_seq, doc, doc_changed_ms, "
                         "fetched_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                         "ON CONFLICT(key) DO UPDATE SET epoch = ?2, seq = ?3, doc_seq = ?4, "
                         "doc = ?5, doc_changed_ms = ?6, fetched_ms = ?7"
                       : "INSERT INTO streams(key, epoch, seq, doc_seq, doc, doc_changed_ms, "
                         "fetched_ms) VALUES(?1, ?2, ?3, ?4, NULL, ?6, ?7) "
                         "ON CONFLICT(key) DO UPDATE SET epoch = ?2, seq = ?3, doc_seq = ?4, "
                         "doc_changed_ms = ?6, fetched_ms = ?7"));
    u.text(1, key);
    u.text(2, epoch);
    u.integer(3, static_cast<std::int64_t>(last));
    u.integer(4, static_cast<std::int64_t>(doc_seq));
    if (doc) u.text(5, *doc);
    u.integer(6, doc_changed_ms);
    u.integer(7, fetched_ms);
    if (u.step() != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
  }
  if (last > history) {
    Stmt d(prepare("DELETE FROM events WHERE key = ? AND seq <= ?"));
    d.text(1, key);
    d.integer(2, static_cast<std::int64_t>(last - history));
    if (d.step() != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
  }
  tx.commit();
  touched_[key] = fetched_ms;
}

void SqliteStore::touch(const std::string& key, std::int64_t fetched_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& last = touched_[key];
  if (fetched_ms - last < kTouchEveryMs) return;
  Stmt u(prepare("UPDATE streams SET fetched_ms = ? WHERE key = ?"));
  u.integer(1, fetched_ms);
  u.text(2, key);
  if (u.step() != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
  last = fetched_ms;
}

void SqliteStore::remove(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  for (const char* sql :
       {"DELETE FROM events WHERE key = ?", "DELETE FROM streams WHERE key = ?"}) {
    Stmt d(prepare(sql));
    d.text(1, key);
    d.step();
  }
  tx.commit();
  touched_.erase(key);
}

}  // namespace pb::stream
