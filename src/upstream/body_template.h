// A parameterized stream's request body with its parameter values in
// place, each escaped for the body's content type (config/body_template.h
// says which escaping and which placeholders; the loader refused
// placeholders in a body whose content type has no known escaping).
//
// Pure; any thread.
#pragma once

#include <map>
#include <string>

namespace pb::upstream {

// `body` with every {name} of `values` replaced by the escaped value.
std::string expand_body(const std::string& body, const std::string& content_type,
                        const std::map<std::string, std::string>& values);

// The escapings (exposed for tests).
std::string json_string_escape(const std::string& value);
std::string xml_escape(const std::string& value);

}  // namespace pb::upstream
