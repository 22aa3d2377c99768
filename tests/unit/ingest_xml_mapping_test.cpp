// parse: xml (ingest/xml_mapping.h): each mapping rule of docs/upstreams.md
// on a small document, the charset rules for XML, the bounds (depth,
// entities, size), parse errors with line and column, SOAP Faults
// (ingest/soap_fault.h) and the xml: config section.
#include "ingest/xml_mapping.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "ingest/decode.h"
#include "ingest/soap_fault.h"
#include "support/file_local.h"

namespace pb::ingest {
namespace PB_FILE_LOCAL {

using json::Json;

Json map(std::string_view xml, std::vector<std::string> arrays = {}, bool keep = false,
         std::string_view charset = "") {
  config::XmlOptions o;
  o.arrays = std::move(arrays);
  o.keep_namespaces = keep;
  return xml_to_json(xml, charset, o, 1 << 20);
}

std::string error_of(std::string_view xml, std::size_t max = 1 << 20) {
  try {
    xml_to_json(xml, "", config::XmlOptions{}, max);
  } catch (const DecodeError& e) {
    return e.what();
  }
  return "";
}

TEST(XmlMappingTest, RootIsTheOnlyMemberAndTextOnlyElementsAreStrings) {
  EXPECT_EQ(map("<r>hi</r>"), Json::parse(R"({"r":"hi"})"));
  EXPECT_EQ(map("<r><a>1</a><b>2</b></r>"), Json::parse(R"({"r":{"a":"1","b":"2"}})"));
}

TEST(XmlMappingTest, AttributesAreAtMembersAndTextBesideThemIsHashText) {
  EXPECT_EQ(map("<r id=\"7\">x</r>"), Json::parse(R"({"r":{"@id":"7","#text":"x"}})"));
  EXPECT_EQ(map("<r id=\"7\"/>"), Json::parse(R"({"r":{"@id":"7"}})"));
  EXPECT_EQ(map("<r>x<a/>y</r>"), Json::parse(R"({"r":{"a":null,"#text":"xy"}})"));
}

TEST(XmlMappingTest, TextIsTrimmedAndWhiteSpaceAloneIsNoText) {
  EXPECT_EQ(map("<r>\n  a b \t</r>"), Json::parse(R"({"r":"a b"})"));
  EXPECT_EQ(map("<r>\n  <a> </a>\n</r>"), Json::parse(R"({"r":{"a":null}})"));
  // U+00A0 is not XML white space: kept.
  EXPECT_EQ(map("<r>\xC2\xA0</r>"), Json::parse("{\"r\":\"\xC2\xA0\"}"));
}

TEST(XmlMappingTest, CdataIsTextCommentsAndPisAreDropped) {
  EXPECT_EQ(map("<r><![CDATA[<b>&amp;</b>]]><!-- c --><?pi x?> end</r>"),
            Json::parse(R"({"r":"<b>&amp;</b> end"})"));
  EXPECT_EQ(map("<?xml version=\"1.0\"?><!-- c --><r/>"), Json::parse(R"({"r":null})"));
  EXPECT_EQ(map("<r>a &amp; &#233; &lt;</r>"), Json::parse("{\"r\":\"a & \xC3\xA9 <\"}"));
}

TEST(XmlMappingTest, RepeatedSiblingsAreAnArrayInDocumentOrder) {
  EXPECT_EQ(map("<r><i>1</i><x/><i>2</i><i>3</i></r>"),
            Json::parse(R"({"r":{"i":["1","2","3"],"x":null}})"));
  EXPECT_EQ(map("<r><i a=\"1\"/><i>t</i></r>"), Json::parse(R"({"r":{"i":[{"@a":"1"},"t"]}})"));
}

TEST(XmlMappingTest, ForcedArraysHoldOneOrNoElement) {
  const std::vector<std::string> arrays = {"/r/list/item", "/r/other/x"};
  EXPECT_EQ(map("<r><list><item>1</item></list></r>", arrays),
            Json::parse(R"({"r":{"list":{"item":["1"]}}})"));
  EXPECT_EQ(map("<r><list/></r>", arrays), Json::parse(R"({"r":{"list":{"item":[]}}})"));
  EXPECT_EQ(map("<r><list>  </list></r>", arrays), Json::parse(R"({"r":{"list":{"item":[]}}})"));
  // The parent is an object even with text only; no parent, no member.
  EXPECT_EQ(map("<r><list>t</list></r>", arrays),
            Json::parse(R"({"r":{"list":{"item":[],"#text":"t"}}})"));
  EXPECT_EQ(map("<r/>", arrays), Json::parse(R"({"r":null})"));
  // Only at that path: an <item> elsewhere is not forced.
  EXPECT_EQ(map("<r><item>1</item></r>", arrays), Json::parse(R"({"r":{"item":"1"}})"));
  // Repeated parents each get their own.
  EXPECT_EQ(map("<r><list/><list><item/></list></r>", arrays),
            Json::parse(R"({"r":{"list":[{"item":[]},{"item":[null]}]}})"));
  EXPECT_EQ(map("<r/>", {"/r"}), Json::parse(R"({"r":[null]})"));
}

TEST(XmlMappingTest, EmptyElementIsNullAndValuesStayStrings) {
  EXPECT_EQ(map("<r><a/><b></b><n>42</n><t>true</t></r>"),
            Json::parse(R"({"r":{"a":null,"b":null,"n":"42","t":"true"}})"));
}

TEST(XmlMappingTest, NamespacesDroppedOrKept) {
  const std::string doc =
      "<s:E xmlns:s=\"urn:s\" xmlns=\"urn:d\" xmlns:p=\"urn:p\">"
      "<s:B p:id=\"1\" xml:lang=\"fr\"><p:x>1</p:x><x>2</x></s:B></s:E>";
  EXPECT_EQ(map(doc), Json::parse(R"({"E":{"B":{"@id":"1","@lang":"fr","x":["1","2"]}}})"));
  EXPECT_EQ(map(doc, {}, true),
            Json::parse(R"({"s:E":{"s:B":{"@p:id":"1","@xml:lang":"fr","p:x":"1","x":"2"}}})"));
  // xml.arrays paths are in local names in both modes.
  EXPECT_EQ(map(doc, {"/E/B/x"}, true),
            Json::parse(R"({"s:E":{"s:B":{"@p:id":"1","@xml:lang":"fr","p:x":["1"],"x":["2"]}}})"));
}

TEST(XmlMappingTest, ContentTypeCharsetOverridesTheDeclaration) {
  const std::string latin1 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>caf\xE9</r>";
  EXPECT_EQ(map(latin1), Json::parse("{\"r\":\"caf\xC3\xA9\"}"));
  EXPECT_EQ(map(latin1, {}, false, "iso-8859-1"), Json::parse("{\"r\":\"caf\xC3\xA9\"}"));
  // Declared windows-1252 by the header: 0x80 is the euro sign.
  EXPECT_EQ(
      map("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>\x80</r>", {}, false, "windows-1252"),
      Json::parse("{\"r\":\"\xE2\x82\xAC\"}"));
  // A UTF-16 body with its BOM and no header.
  EXPECT_EQ(map(std::string("\xFF\xFE<\0r\0>\0\xE9\0<\0/\0r\0>\0", 18)),
            Json::parse("{\"r\":\"\xC3\xA9\"}"));
  try {
    map("<r>\xE9</r>", {}, false, "utf-8");
    FAIL();
  } catch (const DecodeError& e) {
    EXPECT_STREQ(e.what(), "invalid UTF-8 at byte 3");
  }
}

TEST(XmlMappingTest, ParseErrorsNameLineAndColumn) {
  EXPECT_EQ(error_of("<r>\n  <a>\n</r>"),
            "upstream body is not well-formed XML (line 3, column 5): "
            "Opening and ending tag mismatch: a line 2 and r");
  EXPECT_EQ(error_of("<r>caf\xE9</r>").rfind("upstream body is not well-formed XML (line 1", 0), 0u)
      << error_of("<r>caf\xE9</r>");
  EXPECT_NE(error_of(""), "");
  EXPECT_NE(error_of("not xml"), "");
}

TEST(XmlMappingTest, NestingIsBoundedLikeJson) {
  auto nested = [](std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += "<a>";
    for (std::size_t i = 0; i < n; ++i) s += "</a>";
    return s;
  };
  EXPECT_EQ(error_of(nested(kMaxXmlDepth)), "");
  EXPECT_EQ(error_of(nested(kMaxXmlDepth + 1)),
            "XML elements nested deeper than " + std::to_string(kMaxXmlDepth) + " (line 1)");
  // Serializable and diffable: within json::kMaxDepth even if every level
  // repeats.
  std::string wide;
  for (std::size_t i = 0; i < kMaxXmlDepth - 1; ++i) wide += "<a><a/>";
  for (std::size_t i = 0; i < kMaxXmlDepth - 1; ++i) wide += "</a>";
  EXPECT_NO_THROW(json::parse(json::dump(map(wide))));
}

TEST(XmlMappingTest, InternalEntitiesExpandWithinTheBudget) {
  const std::string doc =
      "<!DOCTYPE r [<!ENTITY e \"hi <b>x</b>\"><!ENTITY f \"[&e;]\">]><r a=\"&#233;\">&f;</r>";
  EXPECT_EQ(map(doc), Json::parse("{\"r\":{\"@a\":\"\xC3\xA9\",\"b\":\"x\",\"#text\":\"[hi ]\"}}"));
  // 10 x 10 x 1000 bytes: within libxml2's amplification limit, beyond 64 KiB.
  const std::string k(1000, 'k');
  const std::string wide = "<!DOCTYPE r [<!ENTITY a \"" + k +
                           "\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
                           "<r>&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;</r>";
  EXPECT_EQ(error_of(wide, 1 << 20), "");
  EXPECT_EQ(error_of(wide, 64 << 10).rfind("XML document larger than max_body (65536 bytes)", 0),
            0u)
      << error_of(wide, 64 << 10);
}

TEST(XmlMappingTest, EntitiesOfManyElementsAreBoundedLikeABodyOfMaxBodyBytes) {
  // 100 empty elements, referenced 100 times: 10,000 elements from 1 KB.
  std::string doc = "<!DOCTYPE r [<!ENTITY e \"";
  for (int i = 0; i < 100; ++i) doc += "<a/>";
  doc += "\">]><r>";
  for (int i = 0; i < 100; ++i) doc += "&e;";
  doc += "</r>";
  EXPECT_EQ(error_of(doc, 40100), "");  // 10,000 elements of 4 bytes each
  EXPECT_EQ(error_of(doc, 39000),
            "XML document larger than max_body (39000 bytes) once mapped, entities expanded");
  // Without entities a body within max_body always maps.
  std::string plain = "<r>";
  for (int i = 0; i < 2000; ++i) plain += "<a/>";
  plain += "</r>";
  EXPECT_EQ(error_of(plain, plain.size()), "");
}

TEST(XmlMappingTest, ExternalEntitiesAndDtdsAreNeverRead) {
  EXPECT_EQ(map("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>"),
            Json::parse(R"({"r":null})"));
  EXPECT_EQ(map("<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><r>a</r>"), Json::parse(R"({"r":"a"})"));
}

TEST(SoapFaultTest, Soap11AndSoap12FaultsGiveTheirReason) {
  EXPECT_EQ(soap_fault(map("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
                           "<s:Body><s:Fault><faultcode>s:Server</faultcode>"
                           "<faultstring>Order service down</faultstring></s:Fault></s:Body>"
                           "</s:Envelope>")),
            "SOAP Fault s:Server: Order service down");
  EXPECT_EQ(soap_fault(map("<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\">"
                           "<e:Body><e:Fault><e:Code><e:Value>e:Receiver</e:Value></e:Code>"
                           "<e:Reason><e:Text xml:lang=\"en\">Down</e:Text>"
                           "<e:Text xml:lang=\"fr\">En panne</e:Text></e:Reason></e:Fault>"
                           "</e:Body></e:Envelope>",
                           {}, true)),
            "SOAP Fault e:Receiver: Down");
  EXPECT_EQ(soap_fault(map("<Envelope><Body><Fault/></Body></Envelope>")), "SOAP Fault");
  EXPECT_EQ(soap_fault(map("<Envelope><Body><Result/></Body></Envelope>")), std::nullopt);
  EXPECT_EQ(soap_fault(map("<Fault><faultstring>x</faultstring></Fault>")), std::nullopt);
}

TEST(SoapFaultTest, DecodeRefusesAFaultAndExplainsAnErrorBody) {
  config::StreamConfig cfg;
  cfg.parse = config::ParseMode::kXml;
  const std::string fault =
      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Envelope><Body><Fault>"
      "<faultstring>Caf\xE9 ferm\xE9</faultstring></Fault></Body></Envelope>";
  try {
    decode(cfg, fault, "text/xml");
    FAIL();
  } catch (const DecodeError& e) {
    EXPECT_STREQ(e.what(), "SOAP Fault: Caf\xC3\xA9 ferm\xC3\xA9");
  }
  EXPECT_EQ(explain_error_body(cfg, fault, "text/xml"), "SOAP Fault: Caf\xC3\xA9 ferm\xC3\xA9");
  EXPECT_EQ(explain_error_body(cfg, "<html>oops", "text/html"), "");
  cfg.parse = config::ParseMode::kJson;
  EXPECT_EQ(explain_error_body(cfg, fault, "text/xml"), "");
}

std::string config_problems(const std::string& stream_keys) {
  try {
    config::parse_config("streams:\n  - name: s\n    url: http://127.0.0.1:9/x\n" + stream_keys,
                         "pb.yaml", [](const std::string&) { return std::nullopt; });
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(XmlConfigTest, ReadsNamespacesAndArrays) {
  const auto c = config::parse_config(
      "streams:\n  - name: s\n    url: http://127.0.0.1:9/x\n    parse: xml\n"
      "    xml:\n      namespaces: keep\n      arrays: [/E/B/list/item, /E/x]\n",
      "pb.yaml", [](const std::string&) { return std::nullopt; });
  ASSERT_EQ(c.streams.size(), 1u);
  EXPECT_EQ(c.streams[0].parse, config::ParseMode::kXml);
  EXPECT_TRUE(c.streams[0].xml.keep_namespaces);
  EXPECT_EQ(c.streams[0].xml.arrays, (std::vector<std::string>{"/E/B/list/item", "/E/x"}));
}

TEST(XmlConfigTest, BadPathsAndModesNameTheirPlace) {
  EXPECT_EQ(config_problems("    parse: xml\n    xml:\n      arrays: [a/b]\n"),
            "pb.yaml:6:16: streams[0].xml.arrays[0]: \"a/b\" must start with / (an absolute "
            "element path)");
  EXPECT_NE(config_problems("    parse: xml\n    xml:\n      arrays: [\"/a/b[1]\"]\n")
                .find("pb.yaml:6:16: streams[0].xml.arrays[0]: \"/a/b[1]\" must not hold indices"),
            std::string::npos);
  EXPECT_NE(config_problems("    parse: xml\n    xml:\n      arrays: [/s:E/b]\n")
                .find("without a prefix"),
            std::string::npos);
  EXPECT_NE(config_problems("    parse: xml\n    xml:\n      arrays: [/a//b]\n").find("empty"),
            std::string::npos);
  EXPECT_NE(
      config_problems("    parse: xml\n    xml:\n      namespaces: strip\n")
          .find("pb.yaml:6:19: streams[0].xml.namespaces: \"strip\" is not one of drop, keep"),
      std::string::npos);
  EXPECT_NE(config_problems("    xml:\n      arrays: [/a]\n")
                .find("pb.yaml:5:7: streams[0].xml: is read only with parse: xml"),
            std::string::npos)
      << config_problems("    xml:\n      arrays: [/a]\n");
  EXPECT_NE(config_problems("    parse: xml\n    xml:\n      array: [/a]\n").find("array"),
            std::string::npos);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::ingest
