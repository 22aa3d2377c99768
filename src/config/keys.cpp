#include "config/keys.h"

#include <algorithm>
#include <map>

#include "config/keys_rows.h"

namespace pb::config {
namespace {

std::vector<Key> make_keys() {
  std::vector<Key> out = rows::global_rows();
  std::vector<Key> streams = rows::stream_rows();
  out.insert(out.end(), streams.begin(), streams.end());
  return out;
}

std::string_view section_of(std::string_view path) {
  const std::size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

}  // namespace

const std::vector<Key>& keys() {
  static const std::vector<Key> table = make_keys();
  return table;
}

const Key* find_key(std::string_view path) {
  for (const Key& k : keys()) {
    if (k.path == path) return &k;
  }
  return nullptr;
}

const std::vector<std::string>& child_keys(std::string_view section) {
  static const std::map<std::string, std::vector<std::string>, std::less<>> children = [] {
    std::map<std::string, std::vector<std::string>, std::less<>> out;
    for (const Key& k : keys()) {
      const std::string_view parent = section_of(k.path);
      out[std::string(parent)].emplace_back(k.path.substr(parent.empty() ? 0 : parent.size() + 1));
    }
    return out;
  }();
  static const std::vector<std::string> none;
  auto it = children.find(section);
  return it == children.end() ? none : it->second;
}

const std::vector<std::string_view>& fields_without_key() {
  static const std::vector<std::string_view> fields = {
      "file",                        // the path the config was read from
      "server.tls.cert_where",       // positions of the TLS keys, for the
      "server.tls.key_where",        // errors found when the files load
      "server.tls.client_ca_where",  //
      "server.tls.ciphers_where",    //
      "auth.jwt.keys[].where",       // position of a key's entry
      "streams[].where",             // position of a stream's entry
  };
  return fields;
}

ConfigChanges diff_config(const Config& running, const Config& started, const Config& next) {
  ConfigChanges out;
  const bool tls_toggled = started.server.tls.enabled() != next.server.tls.enabled();
  if (tls_toggled) out.needs_restart.emplace_back("server.tls");
  for (const Key& k : keys()) {
    if (k.differs == nullptr) continue;
    const bool tls_key = k.path.rfind("server.tls.", 0) == 0;
    if (tls_key && (tls_toggled || !next.server.tls.enabled())) continue;
    if (k.apply == Apply::kRestart) {
      // Compared with what the process started with: a change stays
      // reported until the restart that applies it.
      if (k.differs(started, next)) out.needs_restart.emplace_back(k.path);
    } else if (k.differs(running, next)) {
      out.live.emplace_back(k.path);
    }
  }
  return out;
}

Config in_force(const Config& started, const Config& next) {
  Config out = next;
  if (started.server.tls.enabled() != next.server.tls.enabled())
    out.server.tls = started.server.tls;
  for (const Key& k : keys()) {
    if (k.apply == Apply::kRestart && k.keep != nullptr) k.keep(out, started);
  }
  return out;
}

StreamChanges stream_key_changes(const StreamConfig& a, const StreamConfig& b) {
  StreamChanges out;
  for (const Key& k : keys()) {
    if (k.stream_differs == nullptr || !k.stream_differs(a, b)) continue;
    (k.apply == Apply::kLive ? out.live : out.replace).emplace_back(k.path);
  }
  return out;
}

}  // namespace pb::config
