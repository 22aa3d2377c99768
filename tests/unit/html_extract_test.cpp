// parse: html (ingest/html_extract.h): rows and fields by XPath from pages
// as libxml2's HTML parser reads them, and the html: section of the config.
#include "ingest/html_extract.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/xpath_check.h"
#include "ingest/decode.h"
#include "json/document.h"
#include "support/file_local.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using ingest::DecodeError;

config::HtmlOptions opts(std::string rows,
                         std::vector<std::pair<std::string, std::string>> fields = {}) {
  config::HtmlOptions o;
  o.rows = std::move(rows);
  o.fields = std::move(fields);
  return o;
}

std::string doc(std::string_view page, const config::HtmlOptions& o,
                const std::string& charset = "") {
  return json::dump(ingest::extract_html(page, o, charset));
}

const char kReport[] = R"(<!DOCTYPE html>
<html><head><title>Orders</title></head><body>
<h1>Open orders</h1>
<table id="orders">
  <tr><th>Id</th><th>Customer</th><th>Total</th></tr>
  <tr><td>17</td><td>  Ada
      Lovelace </td><td><a href="/o/17">12.50</a></td></tr>
  <tr class="late"><td>18</td><td>Grace&nbsp;Hopper</td></tr>
</table>
<table id="other"><tbody><tr><td>x</td></tr></tbody></table>
</body></html>)";

TEST(HtmlExtractTest, OneObjectPerRowWithFieldsInConfigOrder) {
  EXPECT_EQ(doc(kReport, opts("//table[@id='orders']/tr[td]", {{"id", "td[1]"},
                                                               {"total", "td[3]"},
                                                               {"customer", "td[2]"},
                                                               {"link", "td[3]/a/@href"},
                                                               {"class", "@class"}})),
            "[{\"id\":\"17\",\"total\":\"12.50\",\"customer\":\"Ada Lovelace\",\"link\":\"/o/"
            "17\",\"class\":null},"
            "{\"id\":\"18\",\"total\":null,\"customer\":\"Grace\xC2\xA0Hopper\",\"link\":null,"
            "\"class\":\"late\"}]");
}

TEST(HtmlExtractTest, NoTbodyIsInventedAndAnExplicitOneIsKept) {
  // libxml2 adds none: a rows path written with tbody finds nothing in a
  // table without one, and one without finds nothing in a table with one.
  EXPECT_EQ(doc(kReport, opts("//table[@id='orders']/tbody/tr")), "[]");
  EXPECT_EQ(doc(kReport, opts("//table[@id='other']/tr")), "[]");
  EXPECT_EQ(doc(kReport, opts("//table[@id='other']/tbody/tr")), R"(["x"])");
}

TEST(HtmlExtractTest, WithoutFieldsEachRowIsItsNormalizedStringValue) {
  // The string value of a row is its text as written: cells with nothing
  // between them run together ("IdCustomerTotal"), as XPath says.
  EXPECT_EQ(doc(kReport, opts("//table[@id='orders']/tr")),
            "[\"IdCustomerTotal\",\"17 Ada Lovelace 12.50\",\"18Grace\xC2\xA0Hopper\"]");
}

TEST(HtmlExtractTest, StringNumberAndBooleanResultsAreTheirXPathStrings) {
  EXPECT_EQ(
      doc(kReport, opts("//table[@id='orders']/tr[td]",
                        {{"cells", "count(td)"},
                         {"late", "@class = 'late'"},
                         {"upper", "translate(td[1], '0123456789', 'abcdefghij')"}})),
      R"([{"cells":"3","late":"false","upper":"bh"},{"cells":"2","late":"true","upper":"bi"}])");
}

TEST(HtmlExtractTest, TagSoupIsReadTolerantly) {
  // Unclosed cells and rows, an unquoted attribute, a stray end tag.
  EXPECT_EQ(doc("<table><tr><td>1<td>a b</span><tr><td>2<td class=x>c</table>",
                opts("//tr", {{"n", "td[1]"}, {"v", "td[2]"}})),
            R"([{"n":"1","v":"a b"},{"n":"2","v":"c"}])");
  EXPECT_EQ(doc("", opts("//tr")), "[]");
}

TEST(HtmlExtractTest, TheCharsetOfTheContentTypeOrOfTheMetaIsHonoured) {
  const std::string latin1 = "<p>caf\xE9</p>";
  EXPECT_EQ(doc(latin1, opts("//p"), "iso-8859-1"), "[\"caf\xC3\xA9\"]");
  EXPECT_EQ(doc("<meta charset=\"windows-1252\"><p>\x80</p>", opts("//p")), "[\"\xE2\x82\xAC\"]");
  EXPECT_EQ(doc("<p>caf\xC3\xA9</p>", opts("//p"), "UTF-8"), "[\"caf\xC3\xA9\"]");
  EXPECT_THROW(doc("<p>x</p>", opts("//p"), "no-such-charset"), DecodeError);
  // Through decode: the charset parameter of the Content-Type.
  config::StreamConfig s;
  s.parse = config::ParseMode::kHtml;
  s.html = opts("//p");
  EXPECT_EQ(json::dump(ingest::decode(s, latin1, "text/html; charset=\"ISO-8859-1\"")),
            "[\"caf\xC3\xA9\"]");
}

TEST(HtmlExtractTest, RowsThatAreNotNodesAndDeepNestingAreErrors) {
  try {
    doc(kReport, opts("count(//tr)"));
    FAIL();
  } catch (const DecodeError& e) {
    EXPECT_STREQ(e.what(), "HTML: html.rows must select nodes; it gives a number");
  }
  // libxml2 stops at 256 levels and would return the page cut short.
  std::string deep;
  for (int i = 0; i < 300; ++i) deep += "<div>";
  deep += "<p>end</p>";
  try {
    doc(deep, opts("//p"));
    FAIL() << "a page nested 300 deep was read";
  } catch (const DecodeError& e) {
    EXPECT_STREQ(e.what(), "HTML: elements nested deeper than libxml2's limit of 256 (line 1)");
  }
  std::string shallow;
  for (int i = 0; i < 200; ++i) shallow += "<div>";
  EXPECT_EQ(doc(shallow + "<p>end</p>", opts("//p")), R"(["end"])");
}

TEST(HtmlExtractTest, AnXPathPastItsOperationBudgetIsAnError) {
  std::string page = "<table>";
  for (int i = 0; i < 2000; ++i) page += "<tr><td>" + std::to_string(i) + "</td></tr>";
  page += "</table>";
  // Quadratic: every row counts every cell of the page.
  try {
    doc(page, opts("//tr[count(//td) > 0]", {{"n", "count(//td/preceding::td)"}}));
    FAIL() << "a quadratic XPath ran to the end";
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("budget"), std::string::npos) << e.what();
  }
}

TEST(HtmlExtractTest, NormalizeSpace) {
  EXPECT_EQ(ingest::normalize_space(" \t a \r\n\n b  "), "a b");
  EXPECT_EQ(ingest::normalize_space(""), "");
  EXPECT_EQ(ingest::normalize_space("a\xFF"), "a\xEF\xBF\xBD");
}

// --- the html: section ---

std::string problems(const std::string& stream_extra) {
  try {
    config::parse_config("streams:\n  - name: s\n    url: http://127.0.0.1:9/x\n" + stream_extra,
                         "pb.yaml",
                         config::EnvLookup([](const std::string&) { return std::nullopt; }));
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(HtmlConfigTest, RowsAndFieldsLoadInOrder) {
  const auto s = config::parse_config(
                     "streams:\n  - name: s\n    url: http://127.0.0.1:9/x\n    parse: html\n"
                     "    diff: items\n    key: id\n"
                     "    html:\n      rows: \"//tr[td]\"\n      fields:\n        id: td[1]\n      "
                     "  a: \"td[2]\"\n"
                     "        b: \"@x\"\n",
                     "pb.yaml", config::EnvLookup([](const std::string&) { return std::nullopt; }))
                     .streams.at(0);
  EXPECT_EQ(s.parse, config::ParseMode::kHtml);
  EXPECT_EQ(s.html.rows, "//tr[td]");
  EXPECT_EQ(s.html.fields, (std::vector<std::pair<std::string, std::string>>{
                               {"id", "td[1]"}, {"a", "td[2]"}, {"b", "@x"}}));
}

TEST(HtmlConfigTest, XPathErrorsAndMissingRowsNameTheirPlace) {
  const std::string bad_rows = problems("    parse: html\n    html: { rows: \"//tr[\" }\n");
  EXPECT_NE(bad_rows.find("pb.yaml:5:19: streams[0].html.rows: \"//tr[\" is not a valid XPath "
                          "1.0 expression"),
            std::string::npos)
      << bad_rows;
  const std::string bad_field = problems(
      "    parse: html\n    html:\n      rows: //tr\n      fields: { a: \"td[1]\", b: \"nope(1)\" "
      "}\n");
  EXPECT_NE(bad_field.find("pb.yaml:7:32: streams[0].html.fields.b: \"nope(1)\" is not a valid "
                           "XPath 1.0 expression"),
            std::string::npos)
      << bad_field;
  EXPECT_NE(
      problems("    parse: html\n    html: { rows: \"count(//tr)\" }\n").find("must select nodes"),
      std::string::npos);
  EXPECT_NE(problems("    parse: html\n")
                .find("pb.yaml:4:12: streams[0].parse: html needs an "
                      "html: section with rows"),
            std::string::npos)
      << problems("    parse: html\n");
  EXPECT_NE(problems("    parse: html\n    html: { fields: { a: td } }\n")
                .find("missing required key \"rows\""),
            std::string::npos);
  EXPECT_NE(problems("    html: { rows: //tr }\n").find("applies only with parse: html"),
            std::string::npos);
  EXPECT_EQ(config::xpath_problem("//tr[td]", true), std::nullopt);
  EXPECT_NE(config::xpath_problem("$undefined", false), std::nullopt);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
