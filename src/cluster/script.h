// A Lua script run with EVALSHA: its text and SHA-1 (computed here, so that
// the first call needs no SCRIPT LOAD round trip unless Redis lost it).
//
// Immutable once made; any thread.
#pragma once

#include <string>

namespace pb::cluster {

// SHA-1 of `bytes`, lower-case hex (as Redis' redis.sha1hex).
std::string sha1_hex(const std::string& bytes);

struct Script {
  Script(std::string name, std::string text);
  std::string name;  // for errors and logs
  std::string text;
  std::string sha1;  // lower-case hex
};

}  // namespace pb::cluster
