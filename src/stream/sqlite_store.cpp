#include "stream/sqlite_store.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/time_format.h"
#include "log/log.h"
#include "sse/event_id.h"

namespace pb::stream {
namespace {

StoreErrorKind kind_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StoreErrorKind::kBusy;
    case SQLITE_FULL:
      return StoreErrorKind::kFull;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
    case SQLITE_AUTH:
      return StoreErrorKind::kReadOnly;
    case SQLITE_IOERR:
      return StoreErrorKind::kIo;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StoreErrorKind::kCorrupt;
    default:
      return StoreErrorKind::kOther;
  }
}

[[noreturn]] void throw_db(sqlite3* db, const std::string& what) {
  int rc = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  throw StoreError(kind_of(rc), what + ": " + (db ? sqlite3_errmsg(db) : "no database"));
}

// Finalizes a statement when it goes out of scope.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  void reset() { sqlite3_reset(s_); }
  void text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void integer(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
  bool row() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) throw_db(db_, "read");
    return false;
  }
  void run() {
    if (sqlite3_step(s_) != SQLITE_DONE) throw_db(db_, "write");
  }
  std::string column_text(int i) {
    const auto* p = sqlite3_column_text(s_, i);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(s_, i)))
             : std::string();
  }
  bool column_null(int i) { return sqlite3_column_type(s_, i) == SQLITE_NULL; }
  std::int64_t column_int(int i) { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

// Rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw_db(db_, "begin");
    }
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw_db(db_, "commit");
    }
    done_ = true;
  }

 private:
  sqlite3* db_;
  bool done_ = false;
};

// Schema 2 (schema 1 had no stream and expires_ms columns; it is upgraded in
// place, its rows keeping an empty stream name until they are loaded again).
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS streams ("
    "  key TEXT PRIMARY KEY, epoch TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  doc_seq INTEGER NOT NULL, doc TEXT, doc_changed_ms INTEGER NOT NULL DEFAULT 0,"
    "  fetched_ms INTEGER NOT NULL DEFAULT 0, stream TEXT NOT NULL DEFAULT '',"
    "  expires_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS events ("
    "  key TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,"
    "  PRIMARY KEY (key, seq)) WITHOUT ROWID;";
// After the upgrade of schema 1 (which has no expires_ms column to index).
constexpr const char* kIndexes =
    "CREATE INDEX IF NOT EXISTS streams_expiry ON streams(expires_ms) WHERE expires_ms > 0;";

}  // namespace

std::string SqliteStore::current_boot_id() {
  // Test hook (docs/operations.md): the integration tests simulate a reboot
  // by naming the boot themselves. Nothing else reads this variable.
  if (const char* test_boot = std::getenv(kTestBootIdEnv); test_boot && *test_boot) {
    return test_boot;
  }
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

SqliteStore::SqliteStore(const std::string& dir, bool fsync, std::string boot_id)
    : dir_(dir), path_(dir + "/pollbridge.db"), fsync_(fsync), boot_id_(std::move(boot_id)) {
  lock_ = std::make_unique<StateDirLock>(dir_);  // before anything is read
  MutexLock lock(mu_);
  open_or_recover();
}

SqliteStore::~SqliteStore() {
  MutexLock lock(mu_);
  if (!db_) return;
  try {
    set_meta("clean", "1");
  } catch (const std::exception& e) {
    log::error("state store: cannot record a clean shutdown", {{"error", e.what()}});
  }
  sqlite3_close_v2(db_);
  db_ = nullptr;
}

void SqliteStore::fail(const std::string& what) {
  throw_db(db_, what);
}

void SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    int rc = sqlite3_extended_errcode(db_);
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    throw StoreError(kind_of(rc), msg);
  }
}

sqlite3_stmt* SqliteStore::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) fail("prepare");
  return s;
}

std::string SqliteStore::meta(const std::string& name) {
  Stmt s(db_, prepare("SELECT value FROM meta WHERE name = ?"));
  s.text(1, name);
  return s.row() ? s.column_text(0) : std::string();
}

void SqliteStore::set_meta(const std::string& name, const std::string& value) {
  Stmt s(db_, prepare("INSERT INTO meta(name, value) VALUES(?, ?) "
                      "ON CONFLICT(name) DO UPDATE SET value = excluded.value"));
  s.text(1, name);
  s.text(2, value);
  s.run();
}

void SqliteStore::open_once() {
  int rc =
      sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) fail("open " + path_);
  sqlite3_extended_result_codes(db_, 1);
  if (sqlite3_db_readonly(db_, "main") == 1) {
    throw StoreError(StoreErrorKind::kReadOnly, path_ + " is read-only");
  }
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  {
    Stmt mode(db_, prepare("PRAGMA journal_mode=WAL"));
    if (!mode.row() || mode.column_text(0) != "wal") {
      throw StoreError(StoreErrorKind::kReadOnly,
                       path_ + ": cannot use WAL mode (is " + dir_ + " writable?)");
    }
  }
  exec(fsync_ ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  {
    Stmt check(db_, prepare("PRAGMA quick_check"));
    if (!check.row() || check.column_text(0) != "ok") {
      throw StoreError(StoreErrorKind::kCorrupt, path_ + ": integrity check failed");
    }
  }
  exec(kSchema);
  std::string schema = meta("schema");
  if (schema == "1") {
    exec("ALTER TABLE streams ADD COLUMN stream TEXT NOT NULL DEFAULT ''");
    exec("ALTER TABLE streams ADD COLUMN expires_ms INTEGER NOT NULL DEFAULT 0");
  }
  exec(kIndexes);
  // One transaction: the renewal and the "not clean" marker land together,
  // so a crash in the middle of this leaves the old markers, and the next
  // start renews again.
  Transaction tx(db_);
  std::string clean = meta("clean");
  std::string prev_boot = meta("boot_id");
  std::string prev_fsync = meta("fsync");
  // The previous run died without a clean stop and the machine rebooted
  // since: without fsync its last commits may be gone.
  renew_epochs_ = clean == "0" && prev_boot != boot_id_ && prev_fsync != "1";
  std::size_t renewed = renew_epochs_ ? renew_all_epochs() : 0;
  set_meta("schema", "2");
  set_meta("clean", "0");
  set_meta("boot_id", boot_id_);
  set_meta("fsync", fsync_ ? "1" : "0");
  tx.commit();
  if (renew_epochs_) {
    log::warn(
        "state store: the previous run did not stop cleanly before a reboot; every saved "
        "instance starts a new epoch (clients resync with a snapshot)",
        {{"path", path_}, {"instances", std::to_string(renewed)}});
  }
}

std::size_t SqliteStore::renew_all_epochs() {
  // Every saved key, not only those this run loads: a key loaded in a later
  // run (a parameterized instance nobody asks for now) would otherwise come
  // back with its old epoch after a clean stop, and hand out again the ids
  // of the commits the crash lost. Each key gets its own epoch; its document
  // stays, its history goes (the events after the lost tail are unknown).
  std::vector<std::string> keys;
  {
    Stmt s(db_, prepare("SELECT key FROM streams"));
    while (s.row()) keys.push_back(s.column_text(0));
  }
  exec("DELETE FROM events");
  Stmt u(db_, prepare("UPDATE streams SET epoch = ?, seq = 0, doc_seq = 0 WHERE key = ?"));
  for (const auto& key : keys) {
    u.reset();
    u.text(1, sse::new_epoch());
    u.text(2, key);
    u.run();
  }
  return keys.size();
}

void SqliteStore::open_or_recover() {
  for (int attempt = 0;; ++attempt) {
    try {
      open_once();
      return;
    } catch (const StoreError& e) {
      if (db_) sqlite3_close_v2(db_);
      db_ = nullptr;
      // Only a damaged database is moved aside; anything else (locked,
      // unwritable, missing) is the operator's to fix, and start fails.
      if (e.kind() != StoreErrorKind::kCorrupt || attempt > 0) {
        throw StoreError(e.kind(), std::string("state store: ") + e.what());
      }
      moved_aside_ = path_ + ".corrupt-" + std::to_string(unix_ms(SystemClock::now()) / 1000);
      std::error_code ec;
      std::filesystem::rename(path_, moved_aside_, ec);
      if (ec) {
        throw StoreError(StoreErrorKind::kReadOnly, std::string("state store: ") + e.what() +
                                                        "; cannot move it aside: " + ec.message());
      }
      for (const char* suffix : {"-wal", "-shm"}) {
        std::error_code ignored;
        std::filesystem::rename(path_ + suffix, moved_aside_ + suffix, ignored);
      }
      log::error("state store damaged: moved aside, starting with empty state",
                 {{"path", path_}, {"error", e.what()}, {"moved_to", moved_aside_}});
    }
  }
}

std::optional<PersistedState> SqliteStore::load(const std::string& key, const std::string& stream,
                                                std::size_t history) {
  MutexLock lock(mu_);
  if (owned_.count(key))
    throw StoreError(StoreErrorKind::kOwned, "key " + key + " is already owned");
  PersistedState st;
  bool found;
  {
    Stmt s(db_, prepare("SELECT epoch, seq, doc_seq, doc, doc_changed_ms, fetched_ms "
                        "FROM streams WHERE key = ?"));
    s.text(1, key);
    found = s.row();
    if (found) {
      st.epoch = s.column_text(0);
      st.seq = static_cast<std::uint64_t>(s.column_int(1));
      st.doc_seq = static_cast<std::uint64_t>(s.column_int(2));
      if (!s.column_null(3)) st.doc_text = s.column_text(3);
      st.doc_changed_ms = s.column_int(4);
      st.fetched_ms = s.column_int(5);
    }
  }
  owned_[key] = stream;
  if (!found) return std::nullopt;
  {
    Stmt u(db_, prepare("UPDATE streams SET stream = ?, expires_ms = 0 WHERE key = ?"));
    u.text(1, stream);
    u.text(2, key);
    u.run();
  }
  {
    Stmt s(db_, prepare("SELECT seq, type, data FROM events WHERE key = ? AND seq > ? "
                        "ORDER BY seq"));
    s.text(1, key);
    s.integer(2, static_cast<std::int64_t>(st.seq > history ? st.seq - history : 0));
    while (s.row()) {
      auto seq = static_cast<std::uint64_t>(s.column_int(0));
      st.history.push_back(
          make_event(seq, sse::EventId{st.epoch, seq}.str(), s.column_text(1), s.column_text(2)));
    }
  }
  // A row that does not add up is not trusted: the stream starts over.
  bool consistent = sse::parse_event_id(st.epoch + "-0").has_value() && st.doc_seq <= st.seq;
  for (std::size_t i = 0; consistent && i < st.history.size(); ++i) {
    std::uint64_t want = st.seq - (st.history.size() - 1 - i);
    consistent = st.history[i]->seq == want;
  }
  if (!consistent) {
    log::warn("state store: saved state is inconsistent; starting a new history",
              {{"instance", key}});
    return std::nullopt;
  }
  return st;
}

void SqliteStore::reset(const std::string& key, const std::string& stream,
                        const std::string& epoch) {
  MutexLock lock(mu_);
  owned_[key] = stream;
  Transaction tx(db_);
  {
    Stmt d(db_, prepare("DELETE FROM events WHERE key = ?"));
    d.text(1, key);
    d.run();
  }
  {
    Stmt u(db_, prepare("INSERT INTO streams(key, epoch, seq, doc_seq, doc, stream) "
                        "VALUES(?1, ?2, 0, 0, NULL, ?3) "
                        "ON CONFLICT(key) DO UPDATE SET epoch = ?2, seq = 0, doc_seq = 0, "
                        "doc = NULL, doc_changed_ms = 0, fetched_ms = 0, stream = ?3, "
                        "expires_ms = 0"));
    u.text(1, key);
    u.text(2, epoch);
    u.text(3, stream);
    u.run();
  }
  tx.commit();
  touched_.erase(key);
}

void SqliteStore::append(const std::string& key, const Commit& c) {
  if (c.events.empty()) return;
  // Serialized before the store's lock: other streams' commits do not wait
  // for this document's encoding.
  std::string doc_text;
  if (c.doc) doc_text = json::dump(*c.doc);
  MutexLock lock(mu_);
  auto owner = owned_.find(key);
  if (owner == owned_.end()) {
    throw StoreError(StoreErrorKind::kOther, "append to key " + key + " without owning it");
  }
  Transaction tx(db_);
  {
    // INSERT, not INSERT OR REPLACE: an id recorded twice is a bug to
    // report, never an overwrite.
    Stmt ins(db_, prepare("INSERT INTO events(key, seq, type, data) VALUES(?, ?, ?, ?)"));
    for (const auto& ev : c.events) {
      ins.reset();
      ins.text(1, key);
      ins.integer(2, static_cast<std::int64_t>(ev->seq));
      ins.text(3, ev->type);
      ins.text(4, ev->data);
      ins.run();
    }
  }
  std::uint64_t last = c.events.back()->seq;
  {
    Stmt u(db_,
           prepare(c.doc ? "INSERT INTO streams(key, epoch, seq, doc_seq, doc, doc_changed_ms, "
                           "fetched_ms, stream) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                           "ON CONFLICT(key) DO UPDATE SET epoch = ?2, seq = ?3, doc_seq = ?4, "
                           "doc = ?5, doc_changed_ms = ?6, fetched_ms = ?7"
                         : "INSERT INTO streams(key, epoch, seq, doc_seq, doc, doc_changed_ms, "
                           "fetched_ms, stream) VALUES(?1, ?2, ?3, ?4, NULL, ?6, ?7, ?8) "
                           "ON CONFLICT(key) DO UPDATE SET epoch = ?2, seq = ?3, doc_seq = ?4, "
                           "doc_changed_ms = ?6, fetched_ms = ?7"));
    u.text(1, key);
    u.text(2, c.epoch);
    u.integer(3, static_cast<std::int64_t>(last));
    u.integer(4, static_cast<std::int64_t>(c.doc_seq));
    if (c.doc) u.text(5, doc_text);
    u.integer(6, c.doc_changed_ms);
    u.integer(7, c.fetched_ms);
    u.text(8, owner->second);
    u.run();
  }
  {
    Stmt d(db_, prepare("DELETE FROM events WHERE key = ? AND seq < ?"));
    d.text(1, key);
    d.integer(2, static_cast<std::int64_t>(c.keep_from));
    d.run();
  }
  tx.commit();
  touched_[key] = c.fetched_ms;
}

void SqliteStore::touch(const std::string& key, std::int64_t fetched_ms) noexcept {
  MutexLock lock(mu_);
  if (!owned_.count(key)) return;
  auto& last = touched_[key];
  if (fetched_ms - last < kTouchEveryMs) return;
  try {
    Stmt u(db_, prepare("UPDATE streams SET fetched_ms = ? WHERE key = ?"));
    u.integer(1, fetched_ms);
    u.text(2, key);
    u.run();
    last = fetched_ms;
  } catch (const StoreError&) {
    // The age of a document is advisory; a failure here loses nothing.
  }
}

void SqliteStore::release(const std::string& key, std::int64_t expires_ms) noexcept {
  MutexLock lock(mu_);
  owned_.erase(key);
  touched_.erase(key);
  try {
    Stmt u(db_, prepare("UPDATE streams SET expires_ms = ? WHERE key = ?"));
    u.integer(1, expires_ms);
    u.text(2, key);
    u.run();
  } catch (const StoreError& e) {
    // The rows stay; forget_streams_except or a later release deletes them.
    log::warn("state store: cannot note a released instance",
              {{"instance", key}, {"error", e.what()}});
  }
}

void SqliteStore::delete_key(const std::string& key) {
  Transaction tx(db_);
  for (const char* sql :
       {"DELETE FROM events WHERE key = ?", "DELETE FROM streams WHERE key = ?"}) {
    Stmt d(db_, prepare(sql));
    d.text(1, key);
    d.run();
  }
  tx.commit();
}

std::size_t SqliteStore::sweep(std::int64_t now_ms) noexcept {
  MutexLock lock(mu_);
  std::size_t gone = 0;
  try {
    std::vector<std::string> keys;
    {
      Stmt s(db_, prepare("SELECT key FROM streams WHERE expires_ms > 0 AND expires_ms <= ?"));
      s.integer(1, now_ms);
      while (s.row()) keys.push_back(s.column_text(0));
    }
    for (const auto& k : keys) {
      if (owned_.count(k)) continue;
      delete_key(k);
      ++gone;
    }
  } catch (const StoreError& e) {
    log::warn("state store: cannot delete expired instances", {{"error", e.what()}});
  }
  return gone;
}

std::size_t SqliteStore::forget_streams_except(const std::set<std::string>& streams) noexcept {
  MutexLock lock(mu_);
  std::size_t gone = 0;
  try {
    std::vector<std::string> keys;
    {
      Stmt s(db_, prepare("SELECT key, stream FROM streams"));
      while (s.row()) {
        std::string stream = s.column_text(1);
        // An empty name: a row from schema 1, kept until it is loaded again.
        if (!stream.empty() && streams.count(stream) == 0) keys.push_back(s.column_text(0));
      }
    }
    for (const auto& k : keys) {
      if (owned_.count(k)) continue;
      delete_key(k);
      ++gone;
    }
  } catch (const StoreError& e) {
    log::warn("state store: cannot delete removed streams", {{"error", e.what()}});
  }
  return gone;
}

std::size_t SqliteStore::saved_keys() {
  MutexLock lock(mu_);
  Stmt s(db_, prepare("SELECT count(*) FROM streams"));
  return s.row() ? static_cast<std::size_t>(s.column_int(0)) : 0;
}

std::size_t SqliteStore::owned_keys() {
  MutexLock lock(mu_);
  return owned_.size();
}

}  // namespace pb::stream
