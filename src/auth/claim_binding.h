// A parameterized stream can bind a parameter to a claim of the token
// (`bind: { customer: sub }` on the stream): a request for
// /events/customer/{customer} is then admitted only where the value equals
// the token's claim. The claim may be
//   a string      equal byte for byte ("42" == "42");
//   an integer    equal to its decimal text (42 == "42"; 42.0 and "042" are not);
//   an array      of strings and integers: any element equal.
// Anything else (absent, null, boolean, fraction, object) matches nothing.
// This is on top of the streams claim, which must still cover the address.
//
// Pure; callable from any thread.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace pb::auth {

// True if every bound parameter's value (in `values`) equals its claim.
bool bindings_hold(const std::map<std::string, std::string>& bind,
                   const std::map<std::string, std::string>& values, const nlohmann::json& claims);

}  // namespace pb::auth
