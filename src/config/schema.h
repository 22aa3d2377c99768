// The JSON Schema (draft 2020-12) of the configuration file, generated from
// the table of keys (config/keys.h): every key with its type, default,
// range, pattern (durations, sizes), allowed values and description;
// unknown keys refused; required keys marked. `pollbridge --print-schema`
// prints it, the Debian package ships it as
// /usr/share/pollbridge/pollbridge.schema.json, and tests/schema/ checks
// every config of the repository against it with an independent validator.
//
// What a YAML value may be follows the loader (config/field_reader.h):
// every scalar may hold a ${VAR} reference (so a typed key also takes a
// string with one), a string key takes any scalar (YAML's 8 or true is read
// as its text), an integer key a quoted integer, a boolean key yes/no/on/off
// in any case. What the schema cannot say (files that must exist, rules
// between keys, ranges of durations and sizes) is in the descriptions and
// is checked by `pollbridge --check`.
//
// Threads: pure; any thread.
#pragma once

#include <string>

namespace pb::config {

// The schema as JSON text, indented by two spaces, ending in a newline.
std::string json_schema();

}  // namespace pb::config
