// Every key of the configuration file, described once: its path, its type,
// its default, its allowed range and what a reload does with a change to it.
//
// The loader takes each section's known keys from here (an unknown key is
// an error with a suggestion), reload works out what changed from here
// (diff_config, stream_key_changes), and the JSON Schema of the file
// (config/schema.h, `pollbridge --print-schema`) and the manual page
// pollbridge.yaml(5) (config/man_page.h) are generated from here. tests/unit/config_keys_test.cpp
// fails when a field of the structs in config/config.h has no row, when docs/configuration.md
// misses a key, or when its list of restart keys disagrees with this one.
//
// Threads: immutable tables; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace pb::config {

enum class KeyType {
  kString,
  kInteger,
  kBool,
  kDuration,    // "250ms", "2s", "1m30s"
  kSize,        // "64KiB", "4MiB" or a number of bytes
  kStringList,  // a list of strings, or one string (unless kListOnly)
  kStringMap,   // a map of strings (headers, params, bind)
  kListen,      // "host:port"
  kSection,     // a map of further keys
  kSectionList  // a list of maps of further keys
};

// What the schema and the manual page add to a row.
enum KeyFlag : unsigned {
  kRequired = 1u,  // must be present in its section or list entry
  kValues = 2u,    // `range` lists the allowed values: "a | b | c", exactly
  kAnyCase = 4u,   // with kValues: compared without regard to case
  kListOnly = 8u,  // a kStringList that must be a list (one string is refused)
};

// What a reload does when the key's value changed.
enum class Apply {
  kLive,     // in force for what happens next, without a restart
  kRestart,  // read once at start: the change waits for a restart and is
             // named by its path in needs_restart until then
  kStream,   // the stream is replaced: its clients are closed and resume
             // from its successor with Last-Event-ID
};

struct Key {
  std::string_view path;  // "server.cors_origins", "streams[].url", "auth.jwt.keys[].alg"
  KeyType type;
  std::string_view default_value;  // as written in the file; empty: none or computed
  std::string_view range;          // allowed values, as docs/configuration.md says them
  Apply apply;
  // The struct members it fills, as paths below Config or StreamConfig
  // ("server.host server.port"): what the completeness test counts.
  std::string_view fields;
  // Whether two configs differ in it; null for keys inside a list of maps,
  // which are compared with their whole entry.
  bool (*differs)(const Config& a, const Config& b);
  bool (*stream_differs)(const StreamConfig& a, const StreamConfig& b);
  // Copies the key's value from `from` (with `differs`).
  void (*keep)(Config& to, const Config& from);
  unsigned flags;  // KeyFlag bits
  // One line: the JSON Schema's description and pollbridge.yaml(5)'s text
  // (docs/configuration.md says more).
  std::string_view description;
};

// Every key, in the order docs/configuration.md lists them.
const std::vector<Key>& keys();
// The row for `path`, or null.
const Key* find_key(std::string_view path);
// The names directly below `section` ("" for the top level, "server",
// "server.tls", "streams[]", "auth.jwt.keys[]"), for the loader's
// unknown-key check.
const std::vector<std::string>& child_keys(std::string_view section);
// Struct members that hold no key of their own (positions for messages, the
// file's path): "file", "streams[].where", "server.tls.cert_where", ...
const std::vector<std::string_view>& fields_without_key();

// What a reload of `next` changes, by key path (streams are compared by
// Runtime::reload with stream_key_changes). `running` is the config in
// force; `started` the one the process started with, which still holds the
// values of the restart keys.
struct ConfigChanges {
  std::vector<std::string> live;           // in force once the reload is done
  std::vector<std::string> needs_restart;  // waiting for a restart
};
ConfigChanges diff_config(const Config& running, const Config& started, const Config& next);
// The config in force after a reload to `next`: `next`, with the values the
// process started with for every restart key (and server.tls when the
// reload would turn TLS on or off). Whatever reads the running config thus
// never sees a value that is not applied.
Config in_force(const Config& started, const Config& next);

// The streams[] keys in which `a` and `b` differ ("streams[].url").
struct StreamChanges {
  std::vector<std::string> live;     // applied to the running instances
  std::vector<std::string> replace;  // the stream is replaced
};
StreamChanges stream_key_changes(const StreamConfig& a, const StreamConfig& b);

}  // namespace pb::config
