// The manual page pollbridge.yaml(5), generated from the table of keys
// (config/keys.h) like the JSON Schema (config/schema.h): every key by
// section with its type, default, range, whether a change needs a restart,
// and its description. `pollbridge --print-man` prints it; the package
// build runs that and installs the result (cmake/Packaging.cmake).
//
// Threads: pure; any thread.
#pragma once

#include <string>

namespace pb::config {

// The page in roff (man(7) macros).
std::string yaml_man_page();

}  // namespace pb::config
