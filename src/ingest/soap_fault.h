// A SOAP Fault in a mapped XML document (ingest/xml_mapping.h): a `Fault`
// element in `Envelope/Body` (local names, so SOAP 1.1 and 1.2 and any
// prefix), whatever the HTTP status. Its reason is the stream's status:
// "SOAP Fault soap:Server: Order service unavailable", from SOAP 1.1
// `faultcode`/`faultstring` or SOAP 1.2 `Code/Value` and `Reason/Text` (the
// first, when there are several languages).
//
// Threads: pure functions; any thread.
#pragma once

#include <optional>
#include <string>

#include "json/document.h"

namespace pb::ingest {

// The fault's reason, or nullopt if `doc` is not a SOAP envelope holding a
// Fault.
std::optional<std::string> soap_fault(const json::Json& doc);

}  // namespace pb::ingest
