#include "support/streams_view.h"

#include <httplib.h>

namespace pb::testing {

std::map<std::string, json::Json> streams_by_name(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(2, 0);
  auto r = c.Get("/streams");
  std::map<std::string, json::Json> out;
  if (!r || r->status != 200) return out;
  const json::Json doc = json::parse(r->body);
  for (const auto& s : doc["streams"]) out[s["name"].get<std::string>()] = s;
  return out;
}

}  // namespace pb::testing
