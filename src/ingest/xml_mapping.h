// `parse: xml`: an XML body as a document, mapped the way xmltodict maps it
// (docs/upstreams.md, "XML and SOAP"):
//  - the root element is the document's only member; an element is a member
//    named by its local name (`xml.namespaces: keep`: `prefix:name` as
//    written); namespace declarations are never members;
//  - attributes are members `@name`; an element with only text is that
//    string; text beside attributes or child elements is `#text`; an
//    element's text pieces are joined, then trimmed of XML white space
//    (space, tab, CR, LF), and white space alone is no text; CDATA is text;
//    comments and processing instructions are dropped;
//  - repeated sibling elements of one name are an array in document order;
//    `xml.arrays` paths are arrays even of one element, and `[]` when their
//    parent element is there without them (that parent is then an object);
//  - an empty element is null; every value is a string.
// Bounds: no DTD is loaded and no external entity is resolved (no file, no
// network: XML_PARSE_NONET, never NOENT, DTDLOAD or HUGE, and an external
// entity loader that refuses everything); internal entities expand within
// libxml2's amplification limits and within `max_bytes` of names and text
// in total; elements nest at most kMaxXmlDepth deep (the JSON limit, as
// each element may add an object and an array).
//
// Threads: pure functions; any thread (libxml2 is initialized once, its
// errors are read from each call's own parser context).
#pragma once

#include <cstddef>
#include <string_view>

#include "config/config.h"
#include "ingest/decode_error.h"
#include "json/document.h"

namespace pb::ingest {

// Element nesting allowed: an element at depth d is at most 2d+1 levels of
// JSON deep (an object per element, an array per repeated one).
constexpr std::size_t kMaxXmlDepth = (json::kMaxDepth - 1) / 2;

// The document of the XML `body`. `charset` is the Content-Type's (lower-
// cased, "" if none): when given it overrides the document's own encoding
// declaration and BOM (the body is converted with to_utf8() first);
// otherwise libxml2 reads the declaration or BOM. `max_bytes` bounds the
// decoded text and the mapped names and strings. Throws DecodeError naming
// the line and column (parse errors) or the line (limits).
json::Json xml_to_json(std::string_view body, std::string_view charset,
                       const config::XmlOptions& options, std::size_t max_bytes);

}  // namespace pb::ingest
