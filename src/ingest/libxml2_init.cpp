#include "ingest/libxml2_init.h"

#include <libxml/parser.h>

#include <mutex>

namespace pb::ingest {
namespace {

// With the parse options used (no NOENT, no DTDLOAD, NONET) nothing asks
// for this; it holds even if an option slipped in.
xmlParserInputPtr refuse_external(const char* /*url*/, const char* /*id*/,
                                  xmlParserCtxtPtr /*ctxt*/) {
  return nullptr;
}

}  // namespace

void init_libxml2() {
  static std::once_flag once;
  std::call_once(once, [] {
    xmlInitParser();
    xmlSetExternalEntityLoader(&refuse_external);
  });
}

}  // namespace pb::ingest
