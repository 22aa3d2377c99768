#include "ingest/charset.h"

#include <iconv.h>

#include <algorithm>
#include <cerrno>

#include "common/ascii.h"
#include "common/utf8.h"

namespace pb::ingest {
namespace {

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// A charset name as messages show it: token characters only, at most 40.
std::string shown(std::string_view charset) {
  std::string out;
  for (char c : charset.substr(0, 40)) out += is_tchar(c) ? c : '?';
  if (charset.size() > 40) out += "...";
  return out;
}

class Iconv {
 public:
  explicit Iconv(iconv_t cd) : cd_(cd) {}
  ~Iconv() { iconv_close(cd_); }
  Iconv(const Iconv&) = delete;
  Iconv& operator=(const Iconv&) = delete;
  iconv_t get() const { return cd_; }

 private:
  iconv_t cd_;
};

[[noreturn]] void too_big(std::size_t max_bytes) {
  throw DecodeError("body larger than max_body (" + std::to_string(max_bytes) +
                    " bytes) once decoded to UTF-8");
}

}  // namespace

std::string media_type_of(std::string_view content_type) {
  return lowered(trim_ows(content_type.substr(0, content_type.find(';'))));
}

std::string charset_of(std::string_view content_type) {
  // type/subtype *( OWS ";" OWS [ parameter ] ), parameter = name "=" ( token
  // / quoted-string ). Parsed left to right so that a ';' inside a quoted
  // value does not start a parameter.
  std::size_t i = content_type.find(';');
  while (i != std::string_view::npos && i < content_type.size()) {
    ++i;  // past ';'
    while (i < content_type.size() && is_ows(content_type[i])) ++i;
    const std::size_t name_begin = i;
    while (i < content_type.size() && is_tchar(content_type[i])) ++i;
    const std::string name = lowered(content_type.substr(name_begin, i - name_begin));
    std::string value;
    if (i < content_type.size() && content_type[i] == '=') {
      ++i;
      if (i < content_type.size() && content_type[i] == '"') {
        ++i;
        while (i < content_type.size() && content_type[i] != '"') {
          if (content_type[i] == '\\' && i + 1 < content_type.size()) ++i;
          value += content_type[i++];
        }
        if (i < content_type.size()) ++i;  // closing quote
      } else {
        const std::size_t b = i;
        while (i < content_type.size() && content_type[i] != ';') ++i;
        value = std::string(trim_ows(content_type.substr(b, i - b)));
      }
    }
    if (name == "charset") return lowered(trim_ows(value));
    i = content_type.find(';', i);
  }
  return {};
}

bool is_utf8_name(std::string_view charset) {
  const std::string c = lowered(charset);
  return c == "utf-8" || c == "utf8";
}

std::size_t first_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    // Runs of ASCII first: most bodies are mostly ASCII.
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string sanitize_utf8(std::string_view in) {
  static const char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    if (const std::size_t len = utf8_sequence_length(in, i)) {
      out.append(in, i, len);
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

std::string to_utf8(std::string_view body, std::string_view charset, std::size_t max_bytes) {
  if (charset.empty() || is_utf8_name(charset)) {
    const std::size_t bad = first_invalid_utf8(body);
    if (bad != std::string_view::npos) {
      throw DecodeError("invalid UTF-8 at byte " + std::to_string(bad));
    }
    if (body.size() > max_bytes) too_big(max_bytes);
    return std::string(body);
  }
  // Only token characters reach iconv: glibc reads suffixes such as
  // "//IGNORE" or "//TRANSLIT" from the name, which would hide errors.
  for (char c : charset) {
    if (!is_tchar(c)) throw DecodeError("unknown charset \"" + shown(charset) + "\"");
  }
  const std::string name(charset);
  iconv_t cd = iconv_open("UTF-8", name.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    throw DecodeError("unknown charset \"" + shown(charset) + "\"");
  }
  Iconv holder(cd);
  std::string out;
  // Most legacy bodies are single-byte charsets with a few non-ASCII
  // characters: start a little above the input's size.
  out.resize(std::min(max_bytes + 8, body.size() + body.size() / 8 + 16));
  char* in = const_cast<char*>(body.data());
  std::size_t in_left = body.size();
  std::size_t used = 0;
  bool flushing = false;  // the input is converted; the final shift state is written
  for (;;) {
    char* o = out.data() + used;
    std::size_t o_left = out.size() - used;
    const std::size_t r =
        flushing ? iconv(cd, nullptr, nullptr, &o, &o_left) : iconv(cd, &in, &in_left, &o, &o_left);
    used = out.size() - o_left;
    if (used > max_bytes) too_big(max_bytes);
    if (r != static_cast<std::size_t>(-1)) {
      if (flushing) break;
      flushing = true;
      continue;
    }
    const std::size_t offset = body.size() - in_left;
    if (errno == E2BIG) {
      if (out.size() >= max_bytes + 8) too_big(max_bytes);
      out.resize(std::min(out.size() * 2, max_bytes + 8));
      continue;
    }
    if (errno == EILSEQ) {
      throw DecodeError("invalid " + shown(charset) + " at byte " + std::to_string(offset));
    }
    if (errno == EINVAL) {
      throw DecodeError("invalid " + shown(charset) + " at byte " + std::to_string(offset) +
                        ": the body ends inside a character");
    }
    throw DecodeError("cannot convert from " + shown(charset) + " at byte " +
                      std::to_string(offset));
  }
  out.resize(used);
  // iconv's own output is UTF-8; a charset that maps to a lone surrogate
  // (some UTF-16 variants pass one through) would still be invalid here.
  const std::size_t bad = first_invalid_utf8(out);
  if (bad != std::string::npos) {
    throw DecodeError("invalid " + shown(charset) + ": it decodes to invalid UTF-8");
  }
  return out;
}

}  // namespace pb::ingest
