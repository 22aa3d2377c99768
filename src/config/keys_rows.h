// The rows of config/keys.h's table, split by section: the top level,
// server, state, log and auth (keys_table.cpp) and the streams[] entries
// (keys_stream_table.cpp), with the macros that write one row. Internal to
// config/.
//
// Threads: called once, by keys() (a function-local static); any thread.
#pragma once

#include <vector>

#include "config/keys.h"

namespace pb::config::rows {

// A key that is one member of Config: `member` is its path below Config,
// compared with ==, and named as the field it fills.
#define PB_KEY(path, member, type, def, range, apply, flags, description)                   \
  Key {                                                                                     \
    path, KeyType::type, def, range, Apply::apply, #member,                                 \
        [](const Config& a, const Config& b) { return !(a.member == b.member); }, nullptr,  \
        [](Config& to, const Config& from) { to.member = from.member; }, flags, description \
  }
// A key of a streams[] entry: `member` is its path below StreamConfig.
#define PB_STREAM_KEY(path, member, type, def, range, apply, flags, description)               \
  Key {                                                                                        \
    "streams[]." path, KeyType::type, def, range, Apply::apply, "streams[]." #member, nullptr, \
        [](const StreamConfig& a, const StreamConfig& b) { return !(a.member == b.member); },  \
        nullptr, flags, description                                                            \
  }
// A key compared as part of something larger (a section, an entry of a
// list of maps): no comparison of its own.
#define PB_PART(path, fields, type, def, range, apply, flags, description)                   \
  Key {                                                                                      \
    path, KeyType::type, def, range, Apply::apply, fields, nullptr, nullptr, nullptr, flags, \
        description                                                                          \
  }

// The rows of the top level, server, state, log and auth.
std::vector<Key> global_rows();
// The rows of a streams[] entry.
std::vector<Key> stream_rows();

}  // namespace pb::config::rows
