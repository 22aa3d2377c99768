#include "auth/strict_json.h"

#include <set>
#include <string>
#include <vector>

namespace pb::auth {
namespace {

struct Refused {};

}  // namespace

std::optional<nlohmann::json> parse_strict_object(std::string_view text) {
  // Member names seen so far in each open object, innermost last.
  std::vector<std::set<std::string>> open;
  auto callback = [&open](int depth, nlohmann::json::parse_event_t event,
                          nlohmann::json& parsed) -> bool {
    using E = nlohmann::json::parse_event_t;
    if (depth > kMaxJsonDepth) throw Refused{};
    switch (event) {
      case E::object_start:
        open.emplace_back();
        break;
      case E::object_end:
        if (!open.empty()) open.pop_back();
        break;
      case E::key:
        if (open.empty() || !open.back().insert(parsed.get<std::string>()).second) {
          throw Refused{};
        }
        break;
      default:
        break;
    }
    return true;
  };
  try {
    nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), callback,
                                                 /*allow_exceptions=*/true,
                                                 /*ignore_comments=*/false);
    if (!value.is_object()) return std::nullopt;
    return value;
  } catch (const Refused&) {
    return std::nullopt;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace pb::auth
