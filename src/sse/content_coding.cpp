#include "sse/content_coding.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "common/ascii.h"

namespace pb::sse {
namespace {

// RFC 9110 12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ),
// in thousandths.
std::optional<int> parse_qvalue(std::string_view v) {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return std::nullopt;
  int whole = v[0] - '0';
  int frac = 0;
  if (v.size() > 1) {
    if (v[1] != '.' || v.size() > 5) return std::nullopt;
    int scale = 100;
    for (std::size_t i = 2; i < v.size(); ++i, scale /= 10) {
      if (v[i] < '0' || v[i] > '9') return std::nullopt;
      frac += (v[i] - '0') * scale;
    }
  }
  if (whole == 1 && frac != 0) return std::nullopt;
  return whole * 1000 + frac;
}

bool is_token(std::string_view t) {
  return !t.empty() && std::all_of(t.begin(), t.end(), is_tchar);
}

}  // namespace

const char* coding_name(Coding coding) {
  switch (coding) {
    case Coding::kGzip:
      return "gzip";
    case Coding::kDeflate:
      return "deflate";
    case Coding::kIdentity:
      break;
  }
  return "identity";
}

std::optional<Coding> parse_coding(std::string_view name) {
  if (iequals(name, "gzip") || iequals(name, "x-gzip")) return Coding::kGzip;
  if (iequals(name, "deflate")) return Coding::kDeflate;
  if (iequals(name, "identity")) return Coding::kIdentity;
  return std::nullopt;
}

Coding negotiate(const std::string* accept_encoding, const std::vector<Coding>& offered) {
  if (accept_encoding == nullptr || offered.empty()) return Coding::kIdentity;
  constexpr int kUnlisted = -1;
  std::array<int, kCodingCount> q;
  q.fill(kUnlisted);
  int star = kUnlisted;
  std::string_view rest = *accept_encoding;
  while (!rest.empty()) {
    std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    std::size_t semi = item.find(';');
    std::string_view token = trim_ows(item.substr(0, semi));
    if (token.empty()) continue;  // empty list elements are allowed (RFC 9110 5.6.1)
    if (!is_token(token)) continue;
    int quality = 1000;
    bool ok = true;
    // Parameters: only q is defined; others are ignored.
    while (semi != std::string_view::npos) {
      std::string_view params = item.substr(semi + 1);
      std::size_t next = params.find(';');
      std::string_view param = trim_ows(params.substr(0, next));
      semi = next == std::string_view::npos ? next : semi + 1 + next;
      std::size_t eq = param.find('=');
      if (eq == std::string_view::npos) continue;
      if (iequals(trim_ows(param.substr(0, eq)), "q")) {
        auto v = parse_qvalue(trim_ows(param.substr(eq + 1)));
        if (!v)
          ok = false;
        else
          quality = *v;
      }
    }
    if (!ok) continue;
    if (token == "*") {
      star = quality;
    } else if (auto c = parse_coding(token)) {
      q[static_cast<std::size_t>(*c)] = quality;
    }
  }
  auto q_of = [&](Coding c) {
    int v = q[static_cast<std::size_t>(c)];
    if (v != kUnlisted) return v;
    if (star != kUnlisted) return star;
    return c == Coding::kIdentity ? 1000 : 0;
  };
  Coding best = Coding::kIdentity;
  int best_q = 0;
  for (Coding c : offered) {
    if (c == Coding::kIdentity) continue;
    int v = q_of(c);
    if (v > best_q) {
      best = c;
      best_q = v;
    }
  }
  if (best_q == 0) return Coding::kIdentity;
  // identity listed (or given by *) with a higher preference keeps it plain.
  int identity = q[0] != kUnlisted ? q[0] : (star != kUnlisted ? star : 0);
  return identity > best_q ? Coding::kIdentity : best;
}

}  // namespace pb::sse
