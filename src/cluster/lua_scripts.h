// The Lua scripts that make every multi-key change in Redis atomic
// (docs/cluster.md explains each and the keys in cluster/keys.h):
//  * fenced_append: appends only for the current lease holder at the
//    expected sequence, then updates the document and seq and publishes;
//  * lease: acquires or renews a poll lease, records presence, and starts a
//    new epoch when Redis has lost the instance's state;
//  * read: the state after a given seq (one consistent read);
//  * init: starts an instance's history if Redis has none;
//  * release: lets go of a lease (only if still held) and of presence;
//  * shared_secret: a deployment-wide secret, made if missing, and written
//    again (so that WAIT can confirm a replica holds it).
//
// Immutable; any thread.
#pragma once

#include "cluster/script.h"

namespace pb::cluster {

const Script& fenced_append_script();
const Script& lease_script();
const Script& read_script();
const Script& init_script();
const Script& release_script();
const Script& shared_secret_script();

}  // namespace pb::cluster
