#include "ingest/soap_fault.h"

namespace pb::ingest {
namespace {

// Longest fault text kept in a reason (status events and logs).
constexpr std::size_t kMaxFaultText = 300;

// At most `n` bytes of `s`, not cutting a UTF-8 sequence.
std::string cut(const std::string& s, std::size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "...";
}

std::string local(const std::string& name) {
  const std::size_t colon = name.find(':');
  return colon == std::string::npos ? name : name.substr(colon + 1);
}

// The member of `obj` whose local name is `name` (any prefix), or null.
const json::Json* member(const json::Json& obj, const char* name) {
  if (!obj.is_object()) return nullptr;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!it.key().empty() && it.key()[0] != '@' && it.key()[0] != '#' && local(it.key()) == name) {
      const json::Json& v = it.value();
      // Repeated (or forced into an array): the first.
      if (v.is_array()) return v.empty() ? nullptr : &v.front();
      return &v;
    }
  }
  return nullptr;
}

// An element's text: itself if a string, its #text if an object.
std::string text_of(const json::Json* v) {
  if (v == nullptr) return {};
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object()) {
    auto it = v->find("#text");
    if (it != v->end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

}  // namespace

std::optional<std::string> soap_fault(const json::Json& doc) {
  const json::Json* envelope = member(doc, "Envelope");
  const json::Json* body = envelope ? member(*envelope, "Body") : nullptr;
  const json::Json* fault = body ? member(*body, "Fault") : nullptr;
  if (fault == nullptr) return std::nullopt;
  // SOAP 1.1: faultcode, faultstring. SOAP 1.2: Code/Value, Reason/Text.
  std::string code = text_of(member(*fault, "faultcode"));
  if (code.empty()) {
    if (const json::Json* c = member(*fault, "Code")) code = text_of(member(*c, "Value"));
  }
  std::string text = text_of(member(*fault, "faultstring"));
  if (text.empty()) {
    if (const json::Json* r = member(*fault, "Reason")) text = text_of(member(*r, "Text"));
  }

  std::string reason = "SOAP Fault";
  if (!code.empty()) reason += " " + cut(code, 100);
  if (!text.empty()) reason += ": " + cut(text, kMaxFaultText);
  return reason;
}

}  // namespace pb::ingest
