// Templated request bodies: a parameterized stream's `body` may hold
// `{name}` placeholders of its declared params, each value escaped for the
// body's content_type when an instance is made (upstream/body_template.h).
// Only `{name}` of a declared parameter is a placeholder: the other braces
// of a JSON body are text.
//
// Pure; any thread.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace pb::config {

enum class BodyEscaping {
  kNone,  // no escaping known for this content type: placeholders are refused
  kJson,  // application/json, */*+json: JSON string escaping
  kXml,   // text/xml, application/xml, */*+xml: XML escaping
  kForm,  // application/x-www-form-urlencoded: percent-encoding
};

// The escaping of a Content-Type value (its parameters ignored).
BodyEscaping body_escaping(const std::string& content_type);

// The declared parameter names used as {name} in `body`, in order (with
// repeats).
std::vector<std::string> body_placeholders(const std::string& body,
                                           const std::set<std::string>& declared);

}  // namespace pb::config
