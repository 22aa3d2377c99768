// HTML pages for `parse: html`: rows and fields picked out of a page by
// XPath 1.0, with libxml2's tolerant HTML parser (the tree as libxml2
// builds it: no tbody is added to a table that has none).
//
// The document is an array with one element per node `rows` selects, in
// document order: an object with one member per field (in the config's
// order), each the string value of the first node its XPath selects from
// the row (an attribute's value for `@href`; a string, number or boolean
// result as its XPath string), with runs of space, tab, CR and LF made one
// space and trimmed, or null when it selects nothing; without fields, the
// row's own string value, normalized the same way.
//
// Bounds: the body is at most max_body; elements nested deeper than
// libxml2's limit (256) make the page an error (libxml2 stops there and
// would return a truncated tree); XPath evaluation has an operation budget
// (kXPathOps plus some per byte), past which the page is an error.
//
// Threads: pure; the thread processing a poll (libxml2 is initialized once,
// thread-safely, before the first use).
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"
#include "json/document.h"

namespace pb::ingest {

// XPath operations allowed for one page: this, plus kXPathOpsPerByte per
// byte of the body.
constexpr unsigned long kXPathOps = 10'000'000;
constexpr unsigned long kXPathOpsPerByte = 16;

// The document of `body` for `options`. `charset` is the Content-Type's
// (empty when it names none: libxml2 then reads the page's <meta charset>
// and falls back on its own guess). Throws DecodeError.
json::Json extract_html(std::string_view body, const config::HtmlOptions& options,
                        const std::string& charset);

// Runs of space, tab, CR and LF as one space, trimmed; invalid UTF-8
// sequences replaced by U+FFFD.
std::string normalize_space(std::string_view text);

}  // namespace pb::ingest
