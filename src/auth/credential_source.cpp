#include "auth/credential_source.h"
#include "common/ascii.h"

#include <cctype>

namespace pb::auth {
namespace {

// RFC 9110 §11.2 token68.
bool is_token68(std::string_view s) {
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
          c == '~' || c == '+' || c == '/')) {
      break;
    }
  }
  if (i == 0) return false;
  for (; i < s.size(); ++i) {
    if (s[i] != '=') return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A code point as UTF-8 the way cpp-httplib 0.11.4's to_utf8 writes it:
// nothing for a surrogate (U+D800..U+DFFF).
void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0xD800 || cp >= 0xE000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Form decoding exactly as cpp-httplib decodes a query (decode_url with
// '+' as space), so that the parameter pollbridge strips is the one httplib
// would see: %XX, '+', and httplib's non-standard %uXXXX (four hex digits,
// a code point written as UTF-8). A '%' not followed by its hex digits is
// kept.
std::string form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex4 = [&](std::size_t at, unsigned& cp) {
    if (at + 4 > s.size()) return false;
    cp = 0;
    for (std::size_t k = at; k < at + 4; ++k) {
      int v = hex_value(s[k]);
      if (v < 0) return false;
      cp = cp * 16 + static_cast<unsigned>(v);
    }
    return true;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned cp = 0;
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 1 < s.size() && s[i + 1] == 'u') {
      if (hex4(i + 2, cp)) {
        append_utf8(out, cp);
        i += 5;
      } else {
        out.push_back(s[i]);
      }
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

template <typename Fn>
void for_each_cookie(std::string_view header, Fn&& fn) {
  std::size_t pos = 0;
  while (pos <= header.size()) {
    std::size_t end = header.find(';', pos);
    if (end == std::string_view::npos) end = header.size();
    const std::string_view pair = trim_ows(header.substr(pos, end - pos));
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      const std::string_view name = trim_ows(pair.substr(0, eq));
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view() : trim_ows(pair.substr(eq + 1));
      fn(name, value, pair);
    }
    pos = end + 1;
  }
}

}  // namespace

const char* source_name(Source source) {
  switch (source) {
    case Source::kNone:
      return "none";
    case Source::kHeader:
      return "header";
    case Source::kCookie:
      return "cookie";
    case Source::kQuery:
      return "query";
  }
  return "none";
}

Credential find_credential(const RequestView& request, std::string_view cookie) {
  Credential out;
  bool malformed = false;
  bool conflict = false;
  int bearer_fields = 0;
  auto offer = [&](std::string_view value, Source source) {
    if (out.source == Source::kNone) {
      out.token = std::string(value);
      out.source = source;
    } else if (out.token != value) {
      conflict = true;
    }
  };
  for (const auto& [name, raw] : request.headers) {
    if (iequals(name, "authorization")) {
      const std::string_view value = trim_ows(raw);
      const std::size_t sp = value.find_first_of(" \t");
      const std::string_view scheme = value.substr(0, sp);
      if (!iequals(scheme, "bearer")) continue;  // not pollbridge's
      const std::string_view token =
          sp == std::string_view::npos ? std::string_view() : trim_ows(value.substr(sp));
      // Two Bearer fields are a repeated parameter even when equal.
      if (++bearer_fields > 1) conflict = true;
      if (!is_token68(token)) {
        malformed = true;
        continue;
      }
      offer(token, Source::kHeader);
    } else if (!cookie.empty() && iequals(name, "cookie")) {
      for_each_cookie(raw, [&](std::string_view n, std::string_view v, std::string_view) {
        if (n != cookie) return;
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        if (!v.empty()) offer(v, Source::kCookie);
      });
    }
  }
  for (const auto& q : request.query_tokens) {
    if (!q.empty()) offer(q, Source::kQuery);
  }
  if (conflict) {
    out.reason = Reason::kConflict;
  } else if (malformed) {
    out.reason = Reason::kMalformed;
  } else {
    out.reason = out.source == Source::kNone ? Reason::kMissing : Reason::kOk;
  }
  if (out.reason != Reason::kOk) {
    out.token.clear();
    out.source = Source::kNone;
  }
  return out;
}

std::vector<std::string> strip_query_param(std::string& target, std::string_view name) {
  std::vector<std::string> values;
  const std::size_t q = target.find('?');
  if (q == std::string::npos) return values;
  const std::string query = target.substr(q + 1);
  std::string kept;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t end = query.find('&', pos);
    if (end == std::string::npos) end = query.size();
    const std::string_view pair = std::string_view(query).substr(pos, end - pos);
    const std::size_t eq = pair.find('=');
    if (!pair.empty() && form_decode(pair.substr(0, eq)) == name) {
      values.push_back(eq == std::string_view::npos ? std::string()
                                                    : form_decode(pair.substr(eq + 1)));
    } else if (!pair.empty()) {
      if (!kept.empty()) kept.push_back('&');
      kept.append(pair);
    }
    pos = end + 1;
  }
  if (values.empty()) return values;  // nothing removed: the target is untouched
  target.resize(q);
  if (!kept.empty()) target += "?" + kept;
  return values;
}

std::string strip_cookie(std::string_view cookie_header, std::string_view name) {
  std::string out;
  for_each_cookie(cookie_header, [&](std::string_view n, std::string_view, std::string_view pair) {
    if (n == name) return;
    if (!out.empty()) out += "; ";
    out.append(pair);
  });
  return out;
}

}  // namespace pb::auth
