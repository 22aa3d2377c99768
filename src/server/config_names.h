// The config's enums as the config file spells them (`diff: json-patch`,
// `parse: xml`, `auth: upstream`), for what the server shows: error
// messages, GET /streams, the console.
//
// Threads: any (pure functions).
#pragma once

#include "config/config.h"

namespace pb::server {

inline const char* diff_mode_name(config::DiffMode m) {
  switch (m) {
    case config::DiffMode::kSnapshot:
      return "snapshot";
    case config::DiffMode::kJsonPatch:
      return "json-patch";
    case config::DiffMode::kMergePatch:
      return "merge-patch";
    case config::DiffMode::kItems:
      return "items";
    case config::DiffMode::kText:
      return "text";
  }
  return "?";
}

inline const char* parse_mode_name(config::ParseMode m) {
  switch (m) {
    case config::ParseMode::kJson:
      return "json";
    case config::ParseMode::kXml:
      return "xml";
    case config::ParseMode::kCsv:
      return "csv";
    case config::ParseMode::kHtml:
      return "html";
  }
  return "?";
}

inline const char* auth_mode_name(config::AuthMode m) {
  switch (m) {
    case config::AuthMode::kNone:
      return "none";
    case config::AuthMode::kRequired:
      return "required";
    case config::AuthMode::kUpstream:
      return "upstream";
  }
  return "?";
}

}  // namespace pb::server
