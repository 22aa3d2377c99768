#include "config/xpath_check.h"

#include <libxml/HTMLtree.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

#include <memory>
#include <mutex>

namespace pb::config {
namespace {

struct Failure {
  std::string message;
  int offset = -1;
};

// The context reports errors here rather than on libxml2's global handler
// (stderr).
void keep_error(void* user, xmlError* error) {
  auto* out = static_cast<Failure*>(user);
  if (error == nullptr) return;
  out->message = error->message != nullptr ? error->message : "invalid expression";
  while (!out->message.empty() && (out->message.back() == '\n' || out->message.back() == ' ')) {
    out->message.pop_back();
  }
  out->offset = error->int1;
}

void drop(void*, const char*, ...) {}

}  // namespace

QuietLibxml2::QuietLibxml2() : context_(xmlGenericErrorContext), handler_(xmlGenericError) {
  xmlSetGenericErrorFunc(nullptr, drop);
}

QuietLibxml2::~QuietLibxml2() {
  xmlSetGenericErrorFunc(context_, handler_);
}

std::optional<std::string> xpath_problem(const std::string& expr, bool nodes) {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
  if (expr.empty()) return std::string("is empty");
  QuietLibxml2 quiet;
  std::unique_ptr<xmlDoc, void (*)(xmlDoc*)> doc(htmlNewDocNoDtD(nullptr, nullptr), xmlFreeDoc);
  if (!doc) return std::string("could not be checked (out of memory)");
  xmlNode* root =
      xmlNewDocNode(doc.get(), nullptr, reinterpret_cast<const xmlChar*>("html"), nullptr);
  xmlDocSetRootElement(doc.get(), root);
  std::unique_ptr<xmlXPathContext, void (*)(xmlXPathContext*)> ctx(xmlXPathNewContext(doc.get()),
                                                                   xmlXPathFreeContext);
  if (!ctx) return std::string("could not be checked (out of memory)");
  Failure failure;
  ctx->error = keep_error;
  ctx->userData = &failure;
  auto why = [&](const char* fallback) {
    std::string text = failure.message.empty() ? std::string(fallback) : failure.message;
    if (failure.offset >= 0) text += " at character " + std::to_string(failure.offset + 1);
    return "is not a valid XPath 1.0 expression (" + text + ")";
  };
  std::unique_ptr<xmlXPathCompExpr, void (*)(xmlXPathCompExpr*)> comp(
      xmlXPathCtxtCompile(ctx.get(), reinterpret_cast<const xmlChar*>(expr.c_str())),
      xmlXPathFreeCompExpr);
  if (!comp) return why("invalid expression");
  // Unknown functions and variables are found when evaluating.
  ctx->node = root;
  std::unique_ptr<xmlXPathObject, void (*)(xmlXPathObject*)> result(
      xmlXPathCompiledEval(comp.get(), ctx.get()), xmlXPathFreeObject);
  if (!result) return why("evaluation failed");
  if (nodes && result->type != XPATH_NODESET) {
    return std::string("must select nodes (elements, like //table[@id='orders']/tr), not a ") +
           (result->type == XPATH_NUMBER    ? "number"
            : result->type == XPATH_BOOLEAN ? "boolean"
                                            : "string");
  }
  return std::nullopt;
}

}  // namespace pb::config
