#include "config/man_page.h"

#include <string_view>
#include <vector>

#include "config/keys.h"

namespace pb::config {
namespace {

// Text for roff: backslashes and hyphens escaped, no line starting with a
// control character.
std::string roff(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string_view section_name(std::string_view path) {
  const std::size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

const char* type_name(const Key& k) {
  switch (k.type) {
    case KeyType::kString:
      return "string";
    case KeyType::kInteger:
      return "integer";
    case KeyType::kBool:
      return "boolean";
    case KeyType::kDuration:
      return "duration";
    case KeyType::kSize:
      return "size";
    case KeyType::kStringList:
      return (k.flags & kListOnly) != 0 ? "list of strings" : "string or list of strings";
    case KeyType::kStringMap:
      return "map of strings";
    case KeyType::kListen:
      return "host:port";
    case KeyType::kSection:
      return "map";
    case KeyType::kSectionList:
      return "list of maps";
  }
  return "";
}

std::string key_entry(const Key& k) {
  std::string facts = type_name(k);
  if ((k.flags & kRequired) != 0) facts += ", required";
  if (!k.default_value.empty()) facts += ", default " + std::string(k.default_value);
  if (!k.range.empty()) facts += (k.flags & kValues) != 0 ? ", one of " : "; ";
  facts += std::string(k.range);
  if (k.apply == Apply::kRestart) facts += "; a change needs a restart";
  if (k.apply == Apply::kStream) facts += "; a change replaces the stream";
  std::string out = ".TP\n.B " + roff(k.path) + "\n";
  out += roff(k.description) + "\n.br\n(" + roff(facts) + ")\n";
  return out;
}

constexpr char kHead[] = R"(.SH NAME
pollbridge.yaml \- configuration file of pollbridge
.SH SYNOPSIS
.I /etc/pollbridge/pollbridge.yaml
.SH DESCRIPTION
.BR pollbridge (1)
reads one YAML document: a map of the keys below.
An unknown key is an error that names its place (file:line:column) and
suggests the closest known key.
.B pollbridge \-\-check \-\-config
.I FILE
validates a file without starting; SIGHUP reloads it.
.PP
This page is generated from the table of keys that the loader itself uses
(\fBpollbridge \-\-print\-man\fR); so is the file's JSON Schema
(\fBpollbridge \-\-print\-schema\fR, installed as
.IR /usr/share/pollbridge/pollbridge.schema.json ),
which editors use to complete and check the file with the line
.PP
.RS
.EX
# yaml\-language\-server: $schema=/usr/share/pollbridge/pollbridge.schema.json
.EE
.RE
.SH VALUES
.TP
.B duration
An integer with a unit, several from the largest: 250ms, 2s, 1m30s, 1h.
.TP
.B size
Bytes, or an integer with B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB
(powers of 1024): 65536, 64KiB, 8MiB.
.TP
.B boolean
true or false; yes, no, on and off are accepted too, in any case.
.TP
.B ${NAME}
Any value may hold references to environment variables: \fB${NAME}\fR,
\fB${NAME:\-default}\fR; \fB$${\fR is a literal \fB${\fR.
Keep secrets (tokens, passwords) out of the file this way.
.PP
A key inside a section is written below it, indented:
.B server.listen
is
.B listen
in the
.B server
map, and
.B streams[].url
is the
.B url
of an entry of the
.B streams
list.
.SH KEYS
)";

constexpr char kTail[] = R"(.SH FILES
.TP
.I /etc/pollbridge/pollbridge.yaml
The configuration of the pollbridge.service unit.
.TP
.I /etc/pollbridge/pollbridge.env
Environment of the unit: the values of ${NAME} references (secrets).
.TP
.I /usr/share/pollbridge/pollbridge.schema.json
The JSON Schema of this file.
.SH SEE ALSO
.BR pollbridge (1);
.I /usr/share/doc/pollbridge/configuration.md.gz
explains every key at length.
)";

}  // namespace

std::string yaml_man_page() {
  std::string out =
      ".TH POLLBRIDGE.YAML 5 \"\" \"pollbridge " PB_VERSION "\" \"File Formats Manual\"\n";
  out += kHead;
  // Each section's keys together, sections in the order of their first key.
  std::vector<std::string_view> sections;
  for (const Key& k : keys()) {
    const std::string_view s = section_name(k.path);
    bool seen = false;
    for (auto known : sections) seen = seen || known == s;
    if (!seen) sections.push_back(s);
  }
  for (std::string_view s : sections) {
    out += ".SS " + (s.empty() ? std::string("Top level") : roff(s)) + "\n";
    for (const Key& k : keys()) {
      if (section_name(k.path) == s) out += key_entry(k);
    }
  }
  out += kTail;
  return out;
}

}  // namespace pb::config
