// libxml2's process-wide set-up, done once before the first parse (XML or
// HTML): xmlInitParser(), and an external-entity loader that refuses
// everything, so that nothing outside a body (an external DTD or entity, a
// file, the network) is ever loaded, whatever options a parse is given.
//
// Threads: any; the first call does the work, the others wait for it.
#pragma once

namespace pb::ingest {

void init_libxml2();

}  // namespace pb::ingest
