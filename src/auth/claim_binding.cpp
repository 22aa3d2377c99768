#include "auth/claim_binding.h"

namespace pb::auth {
namespace {

bool scalar_equals(const nlohmann::json& claim, const std::string& value) {
  if (claim.is_string()) return claim.get_ref<const std::string&>() == value;
  if (claim.is_number_unsigned()) return std::to_string(claim.get<std::uint64_t>()) == value;
  if (claim.is_number_integer()) return std::to_string(claim.get<std::int64_t>()) == value;
  return false;
}

bool claim_equals(const nlohmann::json& claim, const std::string& value) {
  if (!claim.is_array()) return scalar_equals(claim, value);
  for (const auto& e : claim) {
    if (scalar_equals(e, value)) return true;
  }
  return false;
}

}  // namespace

bool bindings_hold(const std::map<std::string, std::string>& bind,
                   const std::map<std::string, std::string>& values, const nlohmann::json& claims) {
  for (const auto& [param, claim_name] : bind) {
    auto v = values.find(param);
    if (v == values.end()) return false;
    auto c = claims.find(claim_name);
    if (c == claims.end() || !claim_equals(*c, v->second)) return false;
  }
  return true;
}

}  // namespace pb::auth
