// Base64url (RFC 4648 §5) as JWS compact serialization uses it
// (RFC 7515 §2): the URL-safe alphabet, no padding, no whitespace. Decoding
// is strict, so that one byte string has exactly one encoding: '=', '+',
// '/', whitespace, a length of 4n+1 and non-zero unused trailing bits are
// refused (RFC 8725 §3.4: validate cryptographic inputs).
//
// Written here rather than taken from OpenSSL: EVP_DecodeBlock is plain
// base64 (another alphabet, padding required, whitespace skipped) and
// accepts non-canonical trailing bits.
//
// Pure; callable from any thread.
#pragma once

#include <string>
#include <string_view>

namespace pb::auth {

// Appends the decoded bytes to `out`; false (out unspecified) if `in` is not
// canonical unpadded base64url.
bool decode_base64url(std::string_view in, std::string& out);

std::string encode_base64url(std::string_view bytes);

}  // namespace pb::auth
