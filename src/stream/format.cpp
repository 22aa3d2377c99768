#include "stream/format.h"

namespace pb::stream {

std::string_view format_name(Format f) {
  switch (f) {
    case Format::kNative:
      return "native";
    case Format::kSnapshot:
      return "snapshot";
    case Format::kJsonPatch:
      return "json-patch";
    case Format::kMergePatch:
      return "merge-patch";
  }
  return "native";
}

std::optional<Format> parse_format(std::string_view name) {
  if (name == "snapshot") return Format::kSnapshot;
  if (name == "json-patch") return Format::kJsonPatch;
  if (name == "merge-patch") return Format::kMergePatch;
  return std::nullopt;
}

std::optional<Format> resolve_format(config::DiffMode mode, Format requested) {
  using config::DiffMode;
  if (requested == Format::kNative) return Format::kNative;
  switch (mode) {
    case DiffMode::kSnapshot:
    case DiffMode::kText:
      if (requested == Format::kSnapshot) return Format::kNative;
      // A text body is no JSON document to patch.
      if (mode == DiffMode::kText) return std::nullopt;
      return requested;
    case DiffMode::kJsonPatch:
      return requested == Format::kJsonPatch ? Format::kNative : requested;
    case DiffMode::kMergePatch:
      return requested == Format::kMergePatch ? Format::kNative : requested;
    case DiffMode::kItems:
      // One change is several items events, each with its own id; a patch
      // per change would skip ids that a client checks for gaps. A
      // snapshot may skip ids (docs/protocol.md), so that one is offered.
      return requested == Format::kSnapshot ? requested : std::optional<Format>();
  }
  return std::nullopt;
}

}  // namespace pb::stream
