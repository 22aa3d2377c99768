// JSON text indented for people to read (`pollbridge probe`): each member
// and element on its own line, `indent` spaces per level, empty objects
// and arrays as {} and []. It reformats text rather than a Json value, so
// numbers keep their exact source text and members their order, as
// pollbridge publishes them. (nlohmann's dump(indent) would write this
// module's raw numbers as binary values: json/document.h.)
//
// Pure; callable from any thread.
#pragma once

#include <string>
#include <string_view>

namespace pb::json {

// `text` must be valid JSON (dump()'s output, or an event's data);
// whitespace between tokens is replaced, strings are copied as they are.
std::string pretty(std::string_view text, int indent = 2);

}  // namespace pb::json
