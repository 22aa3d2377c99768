#include "config/loader_impl.h"
#include "config/param_pattern.h"

namespace pb::config {
namespace {

// Could a request path match both routes? Literal segments must be equal; a
// placeholder matches a literal if its regex does; two placeholders are
// assumed to overlap (regex intersection is not decidable here).
bool overlap(const StreamInfo& a, const std::vector<PathSegment>& ra, const StreamInfo& b,
             const std::vector<PathSegment>& rb) {
  if (ra.size() != rb.size()) return false;
  auto matches = [](const StreamInfo& info, const std::string& param, const std::string& literal) {
    auto it = info.regexes.find(param);
    if (it == info.regexes.end()) return false;  // already reported
    return it->second->matches(literal);
  };
  for (std::size_t i = 0; i < ra.size(); ++i) {
    const PathSegment& x = ra[i];
    const PathSegment& y = rb[i];
    if (!x.param && !y.param && x.text != y.text) return false;
    if (x.param && !y.param && !matches(a, x.text, y.text)) return false;
    if (!x.param && y.param && !matches(b, y.text, x.text)) return false;
  }
  return true;
}

bool same_shape(const std::vector<PathSegment>& a, const std::vector<PathSegment>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].param != b[i].param || (!a[i].param && a[i].text != b[i].text)) return false;
  }
  return true;
}

}  // namespace

void Loader::check_routes() {
  // Every stream also reserves its default path /events/<name>, even when it
  // is served elsewhere, so that name-based URLs stay unambiguous.
  for (std::size_t j = 0; j < infos_.size(); ++j) {
    const StreamInfo& b = infos_[j];
    for (std::size_t i = 0; i < j; ++i) {
      const StreamInfo& a = infos_[i];
      if (a.name_ok && b.name_ok && a.name == b.name) continue;
      const std::string other =
          "of stream " + quote(a.name) + " (line " + std::to_string(a.path_line) + ")";
      std::string message;
      const std::vector<PathSegment> plain_a = {{"events", false}, {a.name, false}};
      const std::vector<PathSegment> plain_b = {{"events", false}, {b.name, false}};
      if (a.route_ok && b.route_ok && same_shape(a.route, b.route)) {
        message =
            a.path == b.path
                ? "path " + quote(b.path) + " is already used by stream " + quote(a.name) +
                      " (line " + std::to_string(a.path_line) + ")"
                : "path " + quote(b.path) + " is the same route as " + quote(a.path) + " " + other;
      } else if (a.name_ok && b.route_ok && a.path != std::string(kEventsPrefix) + a.name &&
                 overlap(b, b.route, a, plain_a)) {
        message = "path " + quote(b.path) + " collides with " +
                  quote(std::string(kEventsPrefix) + a.name) + ", the default path of stream " +
                  quote(a.name) + " (line " + std::to_string(a.name_line) + ")";
      } else if (b.name_ok && a.route_ok && b.path != std::string(kEventsPrefix) + b.name &&
                 overlap(a, a.route, b, plain_b)) {
        message = "the default path " + quote(std::string(kEventsPrefix) + b.name) +
                  " of this stream is matched by path " + quote(a.path) + " " + other;
      } else if (a.route_ok && b.route_ok && overlap(a, a.route, b, b.route)) {
        message = "path " + quote(b.path) + " can match the same requests as " + quote(a.path) +
                  " " + other;
      }
      if (!message.empty()) {
        problem(b.path_pos,
                (b.path_field.empty() ? "streams[" + std::to_string(j) + "]" : b.path_field) +
                    ": " + message);
        break;  // one route problem per stream is enough
      }
    }
  }
}

}  // namespace pb::config
