// The log: section: format, level and the SSE access log.
#include "config/keys.h"
#include "config/loader_impl.h"
#include "log/log.h"

namespace pb::config {

void Loader::read_log(const Field& f, LogConfig& log) {
  const std::vector<std::string>& kKeys = child_keys("log");
  auto fields = read_section(f, &kKeys);
  if (!fields) return;
  if (const Field* x = fields->find("format")) {
    std::string text;
    log::Format unused;
    if (read_string(*x, text)) {
      if (log::parse_format(text, unused)) {
        log.format = text;
      } else {
        problem(*x, "expected text or json, got " + quote(text));
      }
    }
  }
  if (const Field* x = fields->find("level")) {
    std::string text;
    log::Level unused;
    if (read_string(*x, text)) {
      if (log::parse_level(text, unused)) {
        log.level = text;
      } else {
        problem(*x, "expected debug, info, warn or error, got " + quote(text));
      }
    }
  }
  if (const Field* x = fields->find("access")) read_bool(*x, log.access);
}

}  // namespace pb::config
