#include "ingest/html_extract.h"

#include <libxml/HTMLparser.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <climits>
#include <memory>
#include <vector>

#include "common/utf8.h"
#include "config/xpath_check.h"
#include "ingest/decode.h"
#include "ingest/libxml2_init.h"
#include "json/members.h"

namespace pb::ingest {
namespace {

struct FreeDoc {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct FreeParser {
  void operator()(htmlParserCtxt* c) const { htmlFreeParserCtxt(c); }
};
struct FreeXPathContext {
  void operator()(xmlXPathContext* c) const { xmlXPathFreeContext(c); }
};
struct FreeXPathComp {
  void operator()(xmlXPathCompExpr* c) const { xmlXPathFreeCompExpr(c); }
};
struct FreeXPathObject {
  void operator()(xmlXPathObject* o) const { xmlXPathFreeObject(o); }
};
struct FreeXmlChar {
  void operator()(xmlChar* s) const { xmlFree(s); }
};
using XPathObject = std::unique_ptr<xmlXPathObject, FreeXPathObject>;
using XPathComp = std::unique_ptr<xmlXPathCompExpr, FreeXPathComp>;

// The context reports XPath errors here instead of libxml2's global
// handler (stderr); the last one is kept for the message.
void keep_error(void* user, xmlError* error) {
  auto* out = static_cast<std::string*>(user);
  *out = error != nullptr && error->message != nullptr ? error->message : "XPath error";
  while (!out->empty() && (out->back() == '\n' || out->back() == ' ')) out->pop_back();
}

XPathComp compile(xmlXPathContext* ctx, const std::string& expr, const char* what,
                  const std::string& error) {
  XPathComp comp(xmlXPathCtxtCompile(ctx, reinterpret_cast<const xmlChar*>(expr.c_str())));
  // The loader compiled it already; only memory could fail here.
  if (!comp) throw DecodeError(std::string("HTML: ") + what + " does not compile: " + error);
  return comp;
}

XPathObject evaluate(xmlXPathCompExpr* comp, xmlXPathContext* ctx, xmlNode* node,
                     const std::string& name, const std::string& error) {
  ctx->node = node;
  XPathObject result(xmlXPathCompiledEval(comp, ctx));
  if (!result) {
    if (ctx->opLimit != 0 && ctx->opCount >= ctx->opLimit) {
      throw DecodeError("HTML: XPath evaluation of " + name + " went past its budget of " +
                        std::to_string(ctx->opLimit) + " operations");
    }
    throw DecodeError("HTML: XPath evaluation of " + name + " failed: " + error);
  }
  return result;
}

std::string string_of(xmlXPathObject* result) {
  std::unique_ptr<xmlChar, FreeXmlChar> text(xmlXPathCastToString(result));
  return text ? reinterpret_cast<const char*>(text.get()) : "";
}

// A field's value: null for an empty node-set, else the normalized string
// value of its first node in document order (or of the result itself).
json::Json field_value(xmlXPathObject* result) {
  if (result->type == XPATH_NODESET || result->type == XPATH_XSLT_TREE) {
    xmlNodeSet* set = result->nodesetval;
    if (set == nullptr || set->nodeNr == 0) return json::Json(nullptr);
    if (set->nodeNr > 1) xmlXPathNodeSetSort(set);
    std::unique_ptr<xmlChar, FreeXmlChar> text(xmlXPathCastNodeToString(set->nodeTab[0]));
    return json::Json(
        normalize_space(text ? reinterpret_cast<const char*>(text.get()) : std::string_view()));
  }
  return json::Json(normalize_space(string_of(result)));
}

const char* type_name(xmlXPathObjectType type) {
  switch (type) {
    case XPATH_BOOLEAN:
      return "a boolean";
    case XPATH_NUMBER:
      return "a number";
    case XPATH_STRING:
      return "a string";
    default:
      return "no node-set";
  }
}

bool is_html_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

}  // namespace

std::string normalize_space(std::string_view text) {
  static const char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (is_html_space(c)) {
      pending_space = !out.empty();
      ++i;
      continue;
    }
    if (pending_space) {
      out += ' ';
      pending_space = false;
    }
    if (static_cast<unsigned char>(c) < 0x80) {
      out += c;
      ++i;
    } else if (const std::size_t len = utf8_sequence_length(text, i)) {
      out.append(text.data() + i, len);
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

json::Json extract_html(std::string_view body, const config::HtmlOptions& options,
                        const std::string& charset) {
  init_libxml2();
  const config::QuietLibxml2 quiet;
  if (body.size() > static_cast<std::size_t>(INT_MAX)) throw DecodeError("HTML: body too large");
  const char* encoding = nullptr;
  if (!charset.empty()) {
    xmlCharEncodingHandler* handler = xmlFindCharEncodingHandler(charset.c_str());
    if (handler == nullptr) {
      throw DecodeError("HTML: the Content-Type's charset \"" + normalize_space(charset) +
                        "\" is not one libxml2 can read");
    }
    xmlCharEncCloseFunc(handler);
    encoding = charset.c_str();
  }
  std::unique_ptr<htmlParserCtxt, FreeParser> parser(htmlNewParserCtxt());
  if (!parser) throw DecodeError("HTML: out of memory");
  const int kOptions = HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                       HTML_PARSE_RECOVER | HTML_PARSE_COMPACT;
  std::unique_ptr<xmlDoc, FreeDoc> doc(htmlCtxtReadMemory(
      parser.get(), body.data(), static_cast<int>(body.size()), nullptr, encoding, kOptions));
  // libxml2 stops at its nesting limit and returns what it built so far,
  // which would publish a page cut short: that is an error instead.
  const xmlError* last = xmlCtxtGetLastError(parser.get());
  if (last != nullptr &&
      (last->code == XML_ERR_INTERNAL_ERROR || last->code == XML_ERR_NO_MEMORY)) {
    std::string why = last->message != nullptr ? last->message : "parser stopped";
    if (why.find("Excessive depth") != std::string::npos) {
      why = "elements nested deeper than libxml2's limit of 256";
    }
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    throw DecodeError("HTML: " + why + " (line " + std::to_string(last->line) + ")");
  }
  if (!doc) throw DecodeError("HTML: the page could not be parsed");
  parser.reset();

  std::string error;
  std::unique_ptr<xmlXPathContext, FreeXPathContext> ctx(xmlXPathNewContext(doc.get()));
  if (!ctx) throw DecodeError("HTML: out of memory");
  ctx->error = keep_error;
  ctx->userData = &error;
  ctx->opLimit = kXPathOps + kXPathOpsPerByte * static_cast<unsigned long>(body.size());
  ctx->opCount = 0;

  XPathComp rows_comp = compile(ctx.get(), options.rows, "html.rows", error);
  std::vector<XPathComp> field_comps;
  std::vector<std::string> labels;  // for messages
  field_comps.reserve(options.fields.size());
  for (const auto& [name, expr] : options.fields) {
    labels.push_back("html.fields." + name);
    field_comps.push_back(compile(ctx.get(), expr, labels.back().c_str(), error));
  }

  // rows is evaluated on the document node, each field on its row.
  XPathObject rows = evaluate(rows_comp.get(), ctx.get(), reinterpret_cast<xmlNode*>(doc.get()),
                              "html.rows", error);
  if (rows->type != XPATH_NODESET) {
    throw DecodeError(std::string("HTML: html.rows must select nodes; it gives ") +
                      type_name(rows->type));
  }
  json::Json out = json::Json::array();
  xmlNodeSet* set = rows->nodesetval;
  if (set == nullptr || set->nodeNr == 0) return out;
  xmlXPathNodeSetSort(set);
  auto& items = out.get_ref<json::Json::array_t&>();
  items.reserve(static_cast<std::size_t>(set->nodeNr));
  json::MemberList members;
  for (int i = 0; i < set->nodeNr; ++i) {
    xmlNode* row = set->nodeTab[i];
    if (options.fields.empty()) {
      std::unique_ptr<xmlChar, FreeXmlChar> text(xmlXPathCastNodeToString(row));
      items.emplace_back(
          normalize_space(text ? reinterpret_cast<const char*>(text.get()) : std::string_view()));
      continue;
    }
    for (std::size_t f = 0; f < field_comps.size(); ++f) {
      XPathObject value = evaluate(field_comps[f].get(), ctx.get(), row, labels[f], error);
      members.emplace_back(options.fields[f].first, field_value(value.get()));
    }
    items.emplace_back();
    json::assign_members(items.back(), members);
  }
  return out;
}

}  // namespace pb::ingest
