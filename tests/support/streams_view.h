// GET /streams of a running pollbridge, as the tests read it.
#pragma once

#include <map>
#include <string>

#include "json/document.h"

namespace pb::testing {

// The entries of GET /streams on 127.0.0.1:`port` by stream name; empty
// when the request fails or is not answered 200 within 2 s.
std::map<std::string, json::Json> streams_by_name(int port);

}  // namespace pb::testing
