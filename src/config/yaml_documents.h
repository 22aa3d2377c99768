// Reading the documents of a YAML stream, around a yaml-cpp 0.7 bug.
//
// Debian 12's yaml-cpp 0.7.0 never returns from YAML::LoadAll() on a stream
// where a token cannot start a document (a config file that begins with
// ","): the parser then yields an empty document without consuming the
// token, again and again, and the vector of documents grows until memory
// runs out (jbeder/yaml-cpp#1040; fixed upstream after 0.8.0). For
// pollbridge that would turn a typo into a process that eats the machine's
// memory at start or at POST /admin/reload.
//
// Threads: pure; any thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace pb::config {

// YAML::LoadAll(text), except that a stream on which the parser stops
// making progress throws YAML::ParserException at the point where it got
// stuck instead of looping. Throws what LoadAll() throws otherwise.
std::vector<YAML::Node> load_documents(const std::string& text);

}  // namespace pb::config
