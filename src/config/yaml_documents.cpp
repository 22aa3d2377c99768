#include "config/yaml_documents.h"

#include <yaml-cpp/eventhandler.h>

#include <sstream>

namespace pb::config {
namespace {

// Notes where each document starts and ignores everything else.
class DocumentStarts : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  YAML::Mark start = YAML::Mark::null_mark();
};

}  // namespace

std::vector<YAML::Node> load_documents(const std::string& text) {
  // A first pass over the events: the parser is stuck when a document
  // starts where the previous one did. Config files are small; reading
  // one twice costs nothing that matters.
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  int previous = -1;
  while (parser.HandleNextDocument(starts)) {
    if (starts.start.pos == previous) {
      const auto at = static_cast<std::size_t>(previous);
      std::string what = "no document can start here";
      if (at < text.size() && text[at] > 0x20 && text[at] < 0x7f) {
        what = "unexpected \"" + std::string(1, text[at]) + "\"";
      }
      throw YAML::ParserException(starts.start, what);
    }
    previous = starts.start.pos;
  }
  // The stream reads to its end: LoadAll() runs the same parser over it.
  return YAML::LoadAll(text);
}

}  // namespace pb::config
