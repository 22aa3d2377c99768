#include "config/loader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <tuple>

#include "config/keys.h"
#include "config/loader_impl.h"
#include "config/yaml_documents.h"

namespace pb::config {

Config Loader::run(const std::string& text) {
  Config config;
  config.file = file_;

  std::vector<YAML::Node> documents;
  try {
    documents = load_documents(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp's messages can hold the offending byte (a NUL, a CR).
    problem(pos_of(e.mark), "invalid YAML: " + e.msg);
    throw ConfigError({where(problems_[0].pos) + ": " + visible(problems_[0].text)});
  }
  if (documents.empty() || documents[0].IsNull()) {
    problem(Pos{}, "the config is empty; it needs at least a streams list");
  } else if (!documents[0].IsMap()) {
    problem(pos_of(documents[0].Mark()),
            "the top level must be a map (server, history, state, streams), got " +
                kind_of(documents[0]));
  } else {
    // Empty documents after the first (a trailing "---") are harmless.
    auto extra = std::find_if(documents.begin() + 1, documents.end(),
                              [](const YAML::Node& d) { return !d.IsNull(); });
    if (extra != documents.end()) {
      problem(pos_of(extra->Mark()),
              "only one YAML document is allowed; remove the second \"---\"");
    }
    const std::vector<std::string>& kTopKeys = child_keys("");
    const YAML::Node& root = documents[0];
    auto top = read_map(root, "", &kTopKeys);
    if (const Field* f = top->find("history")) read_integer(*f, 1, kMaxHistory, config.history);
    if (const Field* f = top->find("history_bytes")) {
      read_size(*f, kMinHistoryBytes, kMaxHistoryBytes, config.history_bytes);
    }
    if (const Field* f = top->find("server")) read_server(*f, config.server);
    if (const Field* f = top->find("state")) read_state(*f, config.state);
    if (const Field* f = top->find("log")) read_log(*f, config.log);
    // Before the streams: their default auth mode depends on it.
    if (const Field* f = top->find("auth")) read_auth(*f, config.auth);
    if (const Field* f = top->find("streams")) {
      read_streams(*f, config);
    } else {
      problem(pos_of(root.Mark()),
              "missing required key \"streams\" (the list of endpoints to poll)");
    }
  }

  if (problems_.empty()) return config;
  std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
    return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
  });
  std::vector<std::string> lines;
  for (const auto& p : problems_) {
    // One line per problem, whatever bytes of the file a message repeats.
    std::string line = where(p.pos) + ": " + visible(p.text);
    // An anchor used twice reports the same problem twice.
    if (std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(line);
  }
  throw ConfigError(std::move(lines));
}

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error([&] {
        std::string joined;
        for (const auto& p : problems) {
          if (!joined.empty()) joined += '\n';
          joined += p;
        }
        return joined;
      }()),
      problems_(std::move(problems)) {}

Config parse_config(const std::string& yaml_text, const std::string& file_name,
                    const EnvLookup& getenv) {
  Loader loader(file_name, getenv);
  return loader.run(yaml_text);
}

Config load_config(const std::string& path, const EnvLookup& getenv) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) throw ConfigError({path + ": cannot read: " + std::strerror(errno)});
  std::string text;
  char buffer[1 << 16];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) throw ConfigError({path + ": cannot read: " + std::strerror(error)});
  return parse_config(text, path, getenv);
}

Config load_config(const std::string& path) {
  return load_config(path, process_env);
}

}  // namespace pb::config
