// Checks on the PEM files a config names for TLS (a stream's client
// certificate and key), so that a bad pair fails at start with its position
// instead of at the first poll.
//
// Pure apart from reading the files; callable from any thread.
#pragma once

#include <string>

namespace pb::config {

enum class PairFault { kNone, kCertificate, kKey };

// Whether `cert_path` holds a PEM certificate (the first of a chain) and
// `key_path` the PEM private key that belongs to it. Otherwise says which
// file is at fault, with `why` a phrase such as "key.pem does not match the
// certificate in client.pem".
PairFault check_key_pair(const std::string& cert_path, const std::string& key_path,
                         std::string& why);

}  // namespace pb::config
