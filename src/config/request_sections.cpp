// The request-side sections of a stream (docs/upstreams.md):
// pages: (a paged list read whole by each poll), oauth2: (client
// credentials) and login: (a session cookie).
#include <algorithm>

#include "common/ascii.h"
#include "config/body_template.h"
#include "config/keys.h"
#include "config/loader_impl.h"
#include "config/url.h"

namespace pb::config {
namespace {

bool check_http_url(const std::string& text, std::string& why) {
  UrlParts parts;
  if (!parse_url(text, parts, why)) return false;
  if (!parts.placeholders.empty()) {
    why = "must not hold {param} placeholders";
    return false;
  }
  return true;
}

}  // namespace

void Loader::check_body_template(const Fields& fields, const std::set<std::string>& declared,
                                 const StreamConfig& s) {
  const Field* body = fields.find("body");
  if (body == nullptr || declared.empty()) return;
  const auto used = body_placeholders(s.body, declared);
  if (used.empty() || body_escaping(s.content_type) != BodyEscaping::kNone) return;
  problem(*body, "uses {" + used.front() + "}, but the content_type " + quote(s.content_type) +
                     " has no known escaping for parameter values (application/json, +json, "
                     "text/xml, application/xml, +xml, application/x-www-form-urlencoded)");
}

void Loader::read_pages(const Field& f, StreamConfig& s) {
  auto fields = read_section(f, &child_keys("streams[].pages"));
  if (!fields) return;
  PagesConfig p;
  const Field* next = fields->find("next");
  if (next == nullptr) {
    problem(f, "needs next: link, or a JSON pointer to the next page's URL or cursor");
    return;
  }
  std::string text;
  if (!read_string(*next, text)) return;
  if (text == "link") {
    p.next = text;
  } else if (text.empty() || text[0] != '/') {
    problem(*next, quote(text) + " is neither link nor a JSON pointer like /meta/next");
    return;
  } else if (!read_pointer(*next, p.next)) {
    return;
  }
  if (const Field* x = fields->find("items")) read_pointer(*x, p.items);
  if (const Field* x = fields->find("cursor_param")) {
    if (read_string(*x, p.cursor_param)) {
      const bool ok = !p.cursor_param.empty() &&
                      std::all_of(p.cursor_param.begin(), p.cursor_param.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                               c == '_' || c == '.' || c == '~';
                      });
      if (!ok) {
        problem(*x, quote(p.cursor_param) + " is not a query parameter name (A-Z a-z 0-9 - . _ ~)");
      } else if (p.next == "link") {
        problem(*x, "needs next: a JSON pointer to the cursor (with next: link the URL is given)");
      }
    }
  }
  if (const Field* x = fields->find("max")) read_integer(*x, 1, 1000, p.max);
  if (s.diff == DiffMode::kText) {
    problem(f, "reads JSON lists and cannot be used with diff: text");
    return;
  }
  s.pages = std::move(p);
}

void Loader::read_oauth2(const Field& f, StreamConfig& s) {
  auto fields = read_section(f, &child_keys("streams[].oauth2"));
  if (!fields) return;
  OAuth2Config o;
  bool ok = true;
  auto required = [&](const char* key, std::string& out) {
    const Field* x = fields->find(key);
    if (x == nullptr) {
      problem(f, std::string("missing required key \"") + key + "\"");
      ok = false;
      return;
    }
    if (!read_string(*x, out)) {
      ok = false;
    } else if (out.empty()) {
      problem(*x, "must not be empty");
      ok = false;
    } else if (has_control_char(out, false)) {
      problem(*x, "must not contain control characters");
      ok = false;
    }
  };
  required("token_url", o.token_url);
  required("client_id", o.client_id);
  required("client_secret", o.client_secret);
  if (ok) {
    std::string why;
    if (!check_http_url(o.token_url, why)) {
      problem(*fields->find("token_url"), "is not a valid URL: " + why);
      ok = false;
    }
  }
  for (auto [key, out] :
       {std::pair<const char*, std::string*>{"scope", &o.scope}, {"audience", &o.audience}}) {
    if (const Field* x = fields->find(key)) ok = read_string(*x, *out) && ok;
  }
  if (const Field* x = fields->find("auth")) {
    std::string mode;
    if (read_string(*x, mode)) {
      mode = lowercase(mode);
      if (mode == "basic" || mode == "post") {
        o.auth = mode;
      } else {
        problem(*x, quote(mode) + " is not one of basic, post");
        ok = false;
      }
    }
  }
  if (const Field* x = fields->find("params")) {
    if (auto params = read_section(*x, nullptr)) {
      for (const Field& p : params->list) {
        std::string value;
        if (read_string(p, value)) o.params.emplace_back(p.key.Scalar(), std::move(value));
      }
    }
  }
  for (const auto& [name, value] : s.headers) {
    if (lowercase(name) == "authorization") {
      problem(f, "sets Authorization: Bearer; remove the Authorization header");
      ok = false;
    }
  }
  for (const auto& name : s.auth.forward_headers) {
    if (lowercase(name) == "authorization") {
      problem(f, "sets Authorization: Bearer; it cannot be forwarded too (forward_headers)");
      ok = false;
    }
  }
  if (ok) s.oauth2 = std::move(o);
}

void Loader::read_login(const Field& f, StreamConfig& s) {
  auto fields = read_section(f, &child_keys("streams[].login"));
  if (!fields) return;
  LoginConfig l;
  const Field* url = fields->find("url");
  if (url == nullptr) {
    problem(f, "missing required key \"url\"");
    return;
  }
  if (!read_string(*url, l.url)) return;
  std::string why;
  if (!check_http_url(l.url, why)) {
    problem(*url, "is not a valid URL: " + why);
    return;
  }
  if (const Field* x = fields->find("method")) {
    std::string method;
    if (!read_string(*x, method)) return;
    method = upper(method);
    if (method != "GET" && method != "POST") {
      problem(*x, quote(method) + " is not supported; use GET or POST");
      return;
    }
    l.method = method;
  }
  if (const Field* x = fields->find("body")) {
    if (!read_string(*x, l.body)) return;
    if (l.method != "POST" && !l.body.empty()) {
      problem(*x, "a body is sent only with method: POST");
      return;
    }
  }
  if (const Field* x = fields->find("content_type")) {
    if (!read_string(*x, l.content_type)) return;
    if (has_control_char(l.content_type, true)) {
      problem(*x, "must not contain control characters");
      return;
    }
  }
  if (const Field* x = fields->find("headers")) {
    auto headers = read_section(*x, nullptr);
    if (!headers) return;
    for (const Field& h : headers->list) {
      const std::string& name = h.key.Scalar();
      if (name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)) {
        problem(h.key_pos(), x->name + ": " + quote(name) + " is not a valid header name");
        return;
      }
      std::string value;
      if (!read_string(h, value)) return;
      if (has_control_char(value, true)) {
        problem(h, "header values must not contain CR, LF, NUL or other control characters");
        return;
      }
      l.headers.emplace_back(name, std::move(value));
    }
  }
  s.login = std::move(l);
}

}  // namespace pb::config
