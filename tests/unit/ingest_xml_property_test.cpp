// The XML mapping (ingest/xml_mapping.h) equals an independent reference on
// random documents: tests/unit/xml_reference.py, Python's xmltodict (on
// expat) with options reproducing docs/upstreams.md's rules. One Python run
// per test maps a whole batch. Documents mix namespaces (default and
// prefixed), attributes, repeated and nested elements, text with markup
// characters and non-ASCII, white space, CDATA, comments and processing
// instructions; each is mapped with namespaces dropped and kept and with
// xml.arrays drawn from its own element paths.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>

#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ingest/xml_mapping.h"
#include "json/document.h"
#include "support/file_local.h"

namespace pb::ingest {
namespace PB_FILE_LOCAL {

using json::Json;

class Generator {
 public:
  explicit Generator(unsigned seed) : rng_(seed) {}

  // A document and the element paths (local names) it holds.
  std::string document(std::set<std::string>& paths) {
    paths_ = &paths;
    std::string out;
    if (coin(2)) out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    if (coin(4)) out += "<!-- before -->";
    const std::string local = pick({"r", "Envelope", "a"});
    const std::string name = prefixed(local);
    out += "<" + name + " xmlns:p=\"urn:p\" xmlns:q=\"urn:q\"";
    if (coin(3)) out += " xmlns=\"urn:d\"";
    out += attributes();
    out += ">";
    out += content("/" + local, 0);
    out += "</" + name + ">";
    if (coin(4)) out += "\n<?done?>\n";
    return out;
  }

 private:
  bool coin(int one_in) { return std::uniform_int_distribution<int>(0, one_in - 1)(rng_) == 0; }
  int upto(int n) { return std::uniform_int_distribution<int>(0, n)(rng_); }
  std::string pick(std::vector<std::string> v) { return v[upto(static_cast<int>(v.size()) - 1)]; }
  std::string prefixed(const std::string& local) {
    const int r = upto(5);
    return r == 0 ? "p:" + local : r == 1 ? "q:" + local : local;
  }

  std::string text() {
    static const std::vector<std::string> pieces = {
        "a",   "b c",      "42",           " ",      "\n",
        "\t",  "&amp;",    "&lt;",         "&gt;",   "&quot;",
        "'",   "\xC3\xA9", "\xE2\x82\xAC", "&#233;", "\xF0\x9F\x98\x80",
        "x-y", "  z  "};
    std::string t;
    for (int i = upto(4); i > 0; --i) t += pieces[upto(static_cast<int>(pieces.size()) - 1)];
    return t;
  }

  std::string attributes() {
    std::string out;
    std::vector<std::string> names = {"id", "k", "v"};
    for (int i = upto(2); i > 0; --i) {
      const int at = upto(static_cast<int>(names.size()) - 1);
      const std::string name = names[at];
      names.erase(names.begin() + at);
      out += " " + (coin(3) ? "p:" + name : name) + "=\"" + text() + "\"";
    }
    return out;
  }

  std::string content(const std::string& path, int depth) {
    paths_->insert(path);
    std::string out;
    const int n = depth >= 4 ? upto(1) : upto(4);
    for (int i = 0; i < n; ++i) {
      switch (upto(7)) {
        case 0:
        case 1:
          out += text();
          break;
        case 2:
          out += "<![CDATA[" + pick({"<b>", "x & y", " ", "]]", "\xC3\xA9"}) + "]]>";
          break;
        case 3:
          out += coin(2) ? "<!-- c -->" : "<?pi data?>";
          break;
        default: {
          const std::string local = pick({"item", "item", "a", "b", "x-y", "n.1"});
          const std::string name = prefixed(local);
          const std::string attrs = coin(3) ? attributes() : "";
          if (coin(4)) {
            out += "<" + name + attrs + "/>";
            paths_->insert(path + "/" + local);
          } else {
            out += "<" + name + attrs + ">" + content(path + "/" + local, depth + 1) + "</" + name +
                   ">";
          }
        }
      }
    }
    return out;
  }

  std::mt19937 rng_;
  std::set<std::string>* paths_ = nullptr;
};

struct Case {
  std::string xml;
  bool keep;
  std::vector<std::string> arrays;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The reference's documents for `cases`, in order.
Json reference(const std::vector<Case>& cases) {
  Json input = Json::array();
  for (const auto& c : cases)
    input.push_back({{"xml", c.xml}, {"keep", c.keep}, {"arrays", c.arrays}});
  char in_path[] = "/tmp/pb-xml-ref-in-XXXXXX";
  char out_path[] = "/tmp/pb-xml-ref-out-XXXXXX";
  const int in_fd = mkstemp(in_path);
  const int out_fd = mkstemp(out_path);
  EXPECT_GE(in_fd, 0);
  EXPECT_GE(out_fd, 0);
  close(in_fd);
  close(out_fd);
  std::ofstream(in_path) << input.dump();
  const std::string cmd = std::string("python3 ") + PB_SOURCE_DIR +
                          "/tests/unit/xml_reference.py " + in_path + " " + out_path;
  const int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd << " (python3-xmltodict: scripts/deps.sh test)";
  const std::string text = read_file(out_path);
  std::remove(in_path);
  std::remove(out_path);
  return Json::parse(text);
}

TEST(XmlMappingPropertyTest, EqualsXmltodictOnRandomDocuments) {
  const unsigned seed = std::random_device{}();
  Generator gen(seed);
  std::mt19937 rng(seed);
  std::vector<Case> cases;
  for (int i = 0; i < 300; ++i) {
    std::set<std::string> paths;
    Case c;
    c.xml = gen.document(paths);
    c.keep = i % 2 == 1;
    for (const auto& p : paths) {
      if (std::uniform_int_distribution<int>(0, 3)(rng) == 0) c.arrays.push_back(p);
    }
    if (i % 5 == 0) c.arrays.push_back(*paths.begin() + "/absent");
    cases.push_back(std::move(c));
  }
  const Json expected = reference(cases);
  ASSERT_EQ(expected.size(), cases.size());
  int mapped = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    config::XmlOptions o;
    o.keep_namespaces = cases[i].keep;
    o.arrays = cases[i].arrays;
    Json arrays = cases[i].arrays;
    const std::string context = "seed " + std::to_string(seed) + ", case " + std::to_string(i) +
                                "\n" + cases[i].xml + "\nkeep " + std::to_string(cases[i].keep) +
                                " arrays " + arrays.dump();
    if (expected[i].is_object() && expected[i].contains("error")) {
      EXPECT_THROW(xml_to_json(cases[i].xml, "", o, 1 << 20), DecodeError) << context;
      continue;
    }
    Json got;
    try {
      got = xml_to_json(cases[i].xml, "", o, 1 << 20);
    } catch (const DecodeError& e) {
      ADD_FAILURE() << e.what() << "\n" << context;
      continue;
    }
    ++mapped;
    EXPECT_TRUE(json::equal(got, expected[i]))
        << context << "\nours:      " << got.dump() << "\nreference: " << expected[i].dump();
  }
  // The generator makes well-formed documents: nearly all are compared.
  EXPECT_GT(mapped, 290);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::ingest
