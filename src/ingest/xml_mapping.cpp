#include "ingest/xml_mapping.h"

#include <libxml/entities.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ingest/charset.h"
#include "ingest/libxml2_init.h"

namespace pb::ingest {
namespace {

// Never NOENT (entity substitution), DTDLOAD/DTDATTR/DTDVALID (the external
// DTD), XINCLUDE or HUGE (lifts the amplification and depth limits).
constexpr int kParseOptions = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;

// Without entities every element or attribute takes at least this many
// bytes of the body (`<a/>`, ` a=""`): a document may map to at most
// max_bytes / kMinItemBytes of them, so that an entity expanding to many
// empty elements is bounded like a body of that size.
constexpr std::size_t kMinItemBytes = 4;

struct ContextDeleter {
  void operator()(xmlParserCtxtPtr c) const { xmlFreeParserCtxt(c); }
};
struct DocDeleter {
  void operator()(xmlDocPtr d) const { xmlFreeDoc(d); }
};

std::string_view xml_space_trimmed(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// The first error libxml2 reports for a document (later ones follow from
// it: "Premature end of data" after a tag mismatch).
struct FirstError {
  bool set = false;
  std::string message;
  int line = 0;
  int column = 0;
};

// libxml2's structured error callback of one parser context (its
// `_private` points at the document's FirstError).
void record_error(void* user_data, xmlErrorPtr error) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(user_data);
  auto* first = static_cast<FirstError*>(ctxt->_private);
  if (first == nullptr || first->set || error == nullptr || error->level < XML_ERR_ERROR) return;
  first->set = true;
  first->message = error->message != nullptr ? error->message : "";
  first->line = error->line;
  first->column = error->int2;
}

std::string parse_error(const FirstError& first, xmlParserCtxtPtr ctxt) {
  FirstError e = first;
  if (!e.set) {
    const xmlError* last = xmlCtxtGetLastError(ctxt);
    if (last == nullptr || last->message == nullptr) return "upstream body is not well-formed XML";
    e.message = last->message;
    e.line = last->line;
    e.column = last->int2;
  }
  std::string message = e.message;
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (message.size() > 200) message = message.substr(0, 200) + "...";
  std::string where = "line " + std::to_string(e.line);
  if (e.column > 0) where += ", column " + std::to_string(e.column);
  return "upstream body is not well-formed XML (" + where + "): " + sanitize_utf8(message);
}

// One document's walk: the element path (local names) for xml.arrays, and
// the budget of names, text and nodes left.
class Mapper {
 public:
  Mapper(const config::XmlOptions& options, std::size_t max_bytes)
      : keep_(options.keep_namespaces), budget_(max_bytes), max_bytes_(max_bytes) {
    for (const auto& path : options.arrays) {
      arrays_.insert(path);
      const std::size_t slash = path.rfind('/');
      if (slash > 0) forced_children_[path.substr(0, slash)].insert(path.substr(slash + 1));
    }
  }

  json::Json root(xmlNodePtr element) {
    json::Json doc = json::Json::object();
    path_ = "/";
    path_ += reinterpret_cast<const char*>(element->name);
    json::Json value = map_element(element, 1);
    add_child(doc, name_of(element), std::move(value), arrays_.count(path_) > 0);
    return doc;
  }

 private:
  [[noreturn]] void too_large(xmlNodePtr at) const {
    // Nodes expanded from an entity have no line of their own.
    const long line = xmlGetLineNo(at);
    throw DecodeError("XML document larger than max_body (" + std::to_string(max_bytes_) +
                      " bytes) once mapped, entities expanded" +
                      (line > 0 ? " (line " + std::to_string(line) + ")" : std::string()));
  }
  // Bytes of names and text: at most max_bytes in all.
  void spend(std::size_t n, xmlNodePtr at) {
    if (n > budget_) too_large(at);
    budget_ -= n;
  }
  // An element or attribute mapped.
  void item(xmlNodePtr at) {
    if (++items_ > max_bytes_ / kMinItemBytes + 1) too_large(at);
  }
  // Any node walked (comments and processing instructions included, which
  // take at least one byte each without entities).
  void visit(xmlNodePtr at) {
    if (++visits_ > max_bytes_ + 1) too_large(at);
  }

  std::string name_of(xmlNodePtr node) const {
    std::string name;
    if (keep_ && node->ns != nullptr && node->ns->prefix != nullptr) {
      name = reinterpret_cast<const char*>(node->ns->prefix);
      name += ':';
    }
    name += reinterpret_cast<const char*>(node->name);
    return name;
  }

  static void add_child(json::Json& obj, const std::string& name, json::Json value, bool forced) {
    auto it = obj.find(name);
    if (it == obj.end()) {
      if (forced) {
        json::Json list = json::Json::array();
        list.push_back(std::move(value));
        obj[name] = std::move(list);
      } else {
        obj[name] = std::move(value);
      }
      return;
    }
    // Element values are never arrays themselves: an array here holds the
    // siblings seen so far.
    if (!it->is_array()) {
      json::Json list = json::Json::array();
      list.push_back(std::move(*it));
      *it = std::move(list);
    }
    it->push_back(std::move(value));
  }

  // Whether `obj` has a child element of local name `name` (`prefix:name`
  // with namespaces: keep). Absent, a forced array is `[]` under its local
  // name.
  bool has_local(const json::Json& obj, const std::string& name) const {
    if (!keep_) return obj.find(name) != obj.end();
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string& key = it.key();
      if (key.empty() || key[0] == '@' || key[0] == '#') continue;
      const std::size_t colon = key.find(':');
      if ((colon == std::string::npos ? key : key.substr(colon + 1)) == name) return true;
    }
    return false;
  }

  // The text of an attribute's value (its children: text and entity
  // references).
  void attribute_text(xmlNodePtr node, std::string& out, int expansion) {
    for (xmlNodePtr n = node; n != nullptr; n = n->next) {
      visit(n);
      if (n->type == XML_TEXT_NODE && n->content != nullptr) {
        const std::size_t len = xmlStrlen(n->content);
        spend(len, n);
        out.append(reinterpret_cast<const char*>(n->content), len);
      } else if (n->type == XML_ENTITY_REF_NODE) {
        entity_text(n, out, expansion);
      }
    }
  }

  void entity_text(xmlNodePtr ref, std::string& out, int expansion) {
    xmlEntityPtr ent = xmlGetDocEntity(ref->doc, ref->name);
    if (ent == nullptr) return;
    if (expansion > 40) throw DecodeError("XML entities nested too deep");
    if (ent->children != nullptr) {
      attribute_text(ent->children, out, expansion + 1);
    } else if (ent->content != nullptr) {
      const std::size_t len = xmlStrlen(ent->content);
      spend(len, ref);
      out.append(reinterpret_cast<const char*>(ent->content), len);
    }
  }

  // The children of an element (or of an entity it references): elements
  // into `obj`, text into `text`.
  void map_children(xmlNodePtr first, json::Json& obj, std::string& text, std::size_t depth,
                    int expansion) {
    for (xmlNodePtr n = first; n != nullptr; n = n->next) {
      visit(n);
      switch (n->type) {
        case XML_ELEMENT_NODE: {
          const std::size_t saved = path_.size();
          path_ += '/';
          path_ += reinterpret_cast<const char*>(n->name);
          const bool forced = arrays_.count(path_) > 0;
          const std::string name = name_of(n);
          spend(name.size(), n);
          item(n);
          json::Json value = map_element(n, depth + 1);
          path_.resize(saved);
          add_child(obj, name, std::move(value), forced);
          break;
        }
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
          if (n->content != nullptr) {
            const std::size_t len = xmlStrlen(n->content);
            spend(len, n);
            text.append(reinterpret_cast<const char*>(n->content), len);
          }
          break;
        case XML_ENTITY_REF_NODE: {
          xmlEntityPtr ent = xmlGetDocEntity(n->doc, n->name);
          if (ent == nullptr) break;
          if (expansion > 40) throw DecodeError("XML entities nested too deep");
          if (ent->children != nullptr) {
            map_children(ent->children, obj, text, depth, expansion + 1);
          } else if (ent->content != nullptr) {
            const std::size_t len = xmlStrlen(ent->content);
            spend(len, n);
            text.append(reinterpret_cast<const char*>(ent->content), len);
          }
          break;
        }
        default:  // comments, processing instructions, DTD nodes
          break;
      }
    }
  }

  json::Json map_element(xmlNodePtr element, std::size_t depth) {
    if (depth > kMaxXmlDepth) {
      throw DecodeError("XML elements nested deeper than " + std::to_string(kMaxXmlDepth) +
                        " (line " + std::to_string(xmlGetLineNo(element)) + ")");
    }
    json::Json obj = json::Json::object();
    for (xmlAttrPtr a = element->properties; a != nullptr; a = a->next) {
      std::string name = "@";
      if (keep_ && a->ns != nullptr && a->ns->prefix != nullptr) {
        name += reinterpret_cast<const char*>(a->ns->prefix);
        name += ':';
      }
      name += reinterpret_cast<const char*>(a->name);
      spend(name.size(), element);
      item(element);
      std::string value;
      attribute_text(a->children, value, 0);
      obj[name] = std::move(value);
    }
    std::string text;
    map_children(element->children, obj, text, depth, 0);
    auto forced = forced_children_.find(path_);
    if (forced != forced_children_.end()) {
      for (const auto& child : forced->second) {
        if (!has_local(obj, child)) obj[child] = json::Json::array();
      }
    }
    const std::string_view trimmed = xml_space_trimmed(text);
    if (!trimmed.empty()) {
      if (obj.empty()) return json::Json(std::string(trimmed));
      obj["#text"] = std::string(trimmed);
    }
    if (obj.empty()) return nullptr;
    return obj;
  }

  bool keep_;
  std::size_t budget_;
  std::size_t max_bytes_;
  std::size_t items_ = 0;
  std::size_t visits_ = 0;
  std::set<std::string> arrays_;
  // parent path -> names of its children that are forced arrays
  std::map<std::string, std::set<std::string>> forced_children_;
  std::string path_;
};

}  // namespace

json::Json xml_to_json(std::string_view body, std::string_view charset,
                       const config::XmlOptions& options, std::size_t max_bytes) {
  init_libxml2();
  std::string converted;
  const char* encoding = nullptr;
  int parse_options = kParseOptions;
  if (!charset.empty()) {
    // The Content-Type's charset wins over the declaration and the BOM.
    converted = to_utf8(body, charset, max_bytes);
    body = converted;
    encoding = "UTF-8";
    parse_options |= XML_PARSE_IGNORE_ENC;
  }
  if (body.size() > static_cast<std::size_t>(INT32_MAX)) {
    throw DecodeError("XML body too large");
  }
  std::unique_ptr<xmlParserCtxt, ContextDeleter> ctxt(xmlNewParserCtxt());
  if (!ctxt) throw DecodeError("out of memory reading XML");
  FirstError first;
  ctxt->_private = &first;
  ctxt->sax->serror = &record_error;
  std::unique_ptr<xmlDoc, DocDeleter> doc(xmlCtxtReadMemory(
      ctxt.get(), body.data(), static_cast<int>(body.size()), nullptr, encoding, parse_options));
  if (!doc || !ctxt->wellFormed) throw DecodeError(parse_error(first, ctxt.get()));
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  if (root == nullptr) throw DecodeError("upstream body is XML without a root element");
  Mapper mapper(options, max_bytes);
  return mapper.root(root);
}

}  // namespace pb::ingest
