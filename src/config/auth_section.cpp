// The top-level auth: section and each stream's access keys (auth,
// forward_headers, persist, bind). docs/security.md says why each rule
// exists; docs/configuration.md lists the keys.
//
// Secrets (auth.jwt.keys[].secret, auth.tokens) never appear in messages:
// they say "the secret" or name the entry.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "common/ascii.h"
#include "config/keys.h"
#include "config/loader_impl.h"
#include "crypto/algorithm.h"
#include "crypto/key.h"

namespace pb::config {
namespace {

// RFC 9110 §11.2 token68: what a static token must be to travel as
// "Authorization: Bearer <token>" (RFC 6750 §2.1).
bool is_token68(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) ||
                          std::string_view("-._~+/").find(s[i]) != std::string_view::npos)) {
    ++i;
  }
  if (i == 0) return false;
  while (i < s.size() && s[i] == '=') ++i;
  return i == s.size();
}

// Unreserved URL characters (RFC 3986 §2.3): a parameter name that needs
// no escaping.
bool is_query_name(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
           c == '~';
  });
}

// Request headers a stream may not forward: hop-by-hop fields (RFC 9110
// §7.6.1), framing, and those pollbridge sets on its polls itself.
std::optional<std::string> unforwardable(const std::string& lower_name) {
  static const char* const kHopByHop[] = {"connection",          "keep-alive", "proxy-connection",
                                          "proxy-authorization", "te",         "trailer",
                                          "transfer-encoding",   "upgrade",    "host",
                                          "content-length"};
  for (const char* h : kHopByHop) {
    if (lower_name == h) return std::string("is a hop-by-hop or framing header");
  }
  if (lower_name == "if-none-match" || lower_name == "if-modified-since") {
    return std::string("is set by pollbridge from the previous response (ETag, Last-Modified)");
  }
  if (lower_name == "content-type" || lower_name == "accept-encoding") {
    return std::string("is set by pollbridge on its polls");
  }
  if (lower_name == "last-event-id") {
    return std::string("belongs to the client's event stream, not to the upstream");
  }
  return std::nullopt;
}

bool read_file_text(const std::string& path, std::string& out, std::string& why) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    why = "cannot be read: " + std::string(std::strerror(errno));
    return false;
  }
  std::string text;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    text.append(buffer, n);
    if (text.size() > limits::kMaxKeyFileBytes) break;
  }
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) {
    why = "cannot be read: " + std::string(std::strerror(error));
    return false;
  }
  if (text.size() > limits::kMaxKeyFileBytes) {
    why = "is larger than " + std::to_string(limits::kMaxKeyFileBytes >> 10) +
          " KiB; it is not a PEM public key";
    return false;
  }
  out = std::move(text);
  return true;
}

}  // namespace

void Loader::read_auth(const Field& f, AuthConfig& auth) {
  const std::vector<std::string>& kKeys = child_keys("auth");
  auto fields = read_section(f, &kKeys);
  // Even a broken auth: section means "protect the streams": defaults stay
  // `required` so that no later message suggests they were open.
  auth.enabled = true;
  if (!fields) return;
  const Field* jwt = fields->find("jwt");
  const Field* tokens = fields->find("tokens");
  if (jwt == nullptr && tokens == nullptr) {
    problem(f,
            "needs jwt (keys that sign tokens) or tokens (static bearer tokens), or both: "
            "nothing could authenticate a client");
  }
  if (jwt != nullptr) read_jwt(*jwt, auth.jwt);
  if (tokens != nullptr) {
    if (auto items = read_list(*tokens, "a list of tokens")) {
      if (items->empty()) problem(*tokens, "needs at least one token");
      for (const Field& item : *items) {
        std::string token;
        if (!read_string(item, token)) continue;
        if (token.size() < kMinStaticTokenLength) {
          problem(item, "the token is too short: use a random value of at least " +
                            std::to_string(kMinStaticTokenLength) +
                            " characters (openssl rand -hex 32)");
          continue;
        }
        if (!is_token68(token)) {
          problem(item,
                  "the token must consist of A-Z a-z 0-9 - . _ ~ + / (and trailing =) to be "
                  "sent as \"Authorization: Bearer <token>\"");
          continue;
        }
        auto same = std::find(auth.tokens.begin(), auth.tokens.end(), token);
        if (same != auth.tokens.end()) {
          problem(item, "the same token is listed twice (also " + tokens->name + "[" +
                            std::to_string(same - auth.tokens.begin()) + "])");
          continue;
        }
        auth.tokens.push_back(std::move(token));
      }
    }
  }
  if (const Field* x = fields->find("cookie")) {
    std::string name;
    if (read_string(*x, name)) {
      if (name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)) {
        problem(*x, quote(name) +
                        " is not a cookie name (letters, digits and "
                        "!#$%&'*+-.^_`|~ only, RFC 6265)");
      } else {
        auth.cookie = std::move(name);
      }
    }
  }
  if (const Field* x = fields->find("query_param")) {
    std::string name;
    if (read_string(*x, name)) {
      if (!is_query_name(name)) {
        problem(*x, quote(name) + " is not a plain parameter name (A-Z a-z 0-9 - . _ ~)");
      } else if (name == "stream" || name == "lastEventId") {
        problem(*x, quote(name) +
                        " is a parameter pollbridge itself reads; pick another name, "
                        "like access_token");
      } else {
        auth.query_param = std::move(name);
      }
    }
  }
}

void Loader::read_jwt(const Field& f, JwtConfig& jwt) {
  const std::vector<std::string>& kKeys = child_keys("auth.jwt");
  auto fields = read_section(f, &kKeys);
  if (!fields) return;
  if (const Field* x = fields->find("keys")) {
    if (auto items = read_list(*x, "a list of keys like { alg: RS256, file: idp.pem }")) {
      if (items->empty()) problem(*x, "needs at least one key");
      std::map<std::string, int> kid_lines;
      std::vector<int> key_lines;  // of jwt.keys, by index
      for (const Field& item : *items) {
        JwtKeyConfig key;
        if (!read_jwt_key(item, key)) continue;
        // RFC 8725 §3.1: each key is used with exactly one algorithm. The
        // same secret or PEM text under two algorithms would be one key
        // with two.
        bool reused = false;
        for (std::size_t i = 0; i < jwt.keys.size() && !reused; ++i) {
          if (jwt.keys[i].material == key.material && jwt.keys[i].alg != key.alg) {
            problem(item, "uses the same key material as the " + jwt.keys[i].alg + " key at line " +
                              std::to_string(key_lines[i]) +
                              "; a key must be used with exactly one algorithm (RFC 8725 §3.1)");
            reused = true;
          }
        }
        if (reused) continue;
        if (!key.kid.empty()) {
          auto [it, fresh] = kid_lines.emplace(key.kid, item.line());
          if (!fresh) {
            problem(item, "kid " + quote(key.kid) + " is used twice (first at line " +
                              std::to_string(it->second) + "); a kid must pick one key");
            continue;
          }
        }
        jwt.keys.push_back(std::move(key));
        key_lines.push_back(item.line());
      }
    }
  } else {
    problem(f, "missing required key \"keys\" (the keys tokens are signed with)");
  }
  if (const Field* x = fields->find("issuer")) {
    std::string issuer;
    if (read_string(*x, issuer)) {
      if (issuer.empty()) {
        problem(*x, "is empty; leave the key out to accept any issuer");
      } else {
        jwt.issuer = std::move(issuer);
      }
    }
  }
  if (const Field* x = fields->find("audience")) {
    std::vector<std::string> audience;
    if (read_string_list(*x, true, audience)) {
      if (audience.empty() ||
          std::any_of(audience.begin(), audience.end(), [](const auto& a) { return a.empty(); })) {
        problem(*x, "needs non-empty audience values (the aud your tokens carry)");
      } else {
        jwt.audience = std::move(audience);
      }
    }
  }
  if (const Field* x = fields->find("leeway")) {
    read_duration(*x, Duration(0), kMaxLeeway, jwt.leeway);
  }
  if (const Field* x = fields->find("streams_claim")) {
    std::string claim;
    if (read_string(*x, claim)) {
      if (claim.empty()) {
        problem(*x, "needs the name of the claim listing the streams a token may read");
      } else {
        jwt.streams_claim = std::move(claim);
      }
    }
  }
}

bool Loader::read_jwt_key(const Field& f, JwtKeyConfig& key) {
  const std::vector<std::string>& kKeys = child_keys("auth.jwt.keys[]");
  if (!f.value.IsMap()) {
    problem(f,
            "expected a key like { alg: RS256, file: idp.pem } or "
            "{ alg: HS256, secret: \"${PB_JWT_SECRET}\" }, got " +
                kind_of(f.value));
    return false;
  }
  const Fields fields = *read_map(f.value, f.name, &kKeys);
  key.where = where(f.pos());
  const Field* alg_field = fields.find("alg");
  const Field* file_field = fields.find("file");
  const Field* secret_field = fields.find("secret");
  bool ok = true;
  if (const Field* x = fields.find("kid")) {
    if (read_string(*x, key.kid)) {
      if (key.kid.empty()) {
        problem(*x, "is empty; leave the key out for a key without kid");
        ok = false;
      }
    } else {
      ok = false;
    }
  }
  if (alg_field == nullptr) {
    problem(f, "missing required key \"alg\" (one of " +
                   std::string(crypto::supported_alg_names()) + ")");
    return false;
  }
  std::string alg_text;
  if (!read_string(*alg_field, alg_text)) return false;
  const auto alg = crypto::alg_from_name(alg_text);
  if (!alg) {
    if (lowercase(alg_text) == "none") {
      problem(*alg_field, "alg " + quote(alg_text) +
                              " is refused: a token signed with none has no signature "
                              "(RFC 8725 §3.1)");
    } else if (crypto::alg_from_name(upper(alg_text))) {
      problem(*alg_field, "unknown alg " + quote(alg_text) +
                              " (algorithm names are case-sensitive: did you mean " +
                              quote(upper(alg_text)) + "?)");
    } else {
      problem(*alg_field,
              "unknown alg " + quote(alg_text) + "; supported: " + crypto::supported_alg_names());
    }
    return false;
  }
  key.alg = crypto::alg_name(*alg);
  const bool hmac = crypto::family_of(*alg) == crypto::AlgFamily::kHmac;
  if (file_field != nullptr && secret_field != nullptr) {
    problem(*secret_field, "give either file or secret, not both");
    return false;
  }
  if (hmac) {
    if (file_field != nullptr) {
      problem(*file_field, key.alg +
                               " takes a shared secret (secret: \"${VAR}\"), not a file; "
                               "a public key must never be an HMAC secret (RFC 8725 §2.1)");
      return false;
    }
    if (secret_field == nullptr) {
      problem(f, key.alg + " needs secret: the shared secret, like secret: \"${PB_JWT_SECRET}\"");
      return false;
    }
    std::string secret;
    if (!read_string(*secret_field, secret)) return false;
    std::string why;
    if (!crypto::Key::make(*alg, secret, key.kid, why)) {
      problem(*secret_field, "the secret " + why);
      return false;
    }
    key.material = std::move(secret);
    return ok;
  }
  if (secret_field != nullptr) {
    problem(*secret_field, key.alg + " needs file: a PEM public key, not a secret");
    return false;
  }
  if (file_field == nullptr) {
    problem(f, key.alg + " needs file: the path of a PEM public key or certificate");
    return false;
  }
  std::string path;
  if (!read_string(*file_field, path)) return false;
  if (path.empty() || !check_existing(*file_field, path, false)) {
    if (path.empty()) problem(*file_field, "needs the path of a PEM public key");
    return false;
  }
  std::string pem;
  std::string why;
  if (!read_file_text(path, pem, why)) {
    problem(*file_field, quote(path) + " " + why);
    return false;
  }
  if (!crypto::Key::make(*alg, pem, key.kid, why)) {
    problem(*file_field, quote(path) + " " + why);
    return false;
  }
  key.file = std::move(path);
  key.material = std::move(pem);
  return ok;
}

void Loader::read_stream_auth(const Fields& fields, const Config& config,
                              const std::set<std::string>& declared, StreamConfig& s) {
  StreamAuth& a = s.auth;
  a.mode = config.auth.enabled ? AuthMode::kRequired : AuthMode::kNone;
  const Field* auth_field = fields.find("auth");
  bool mode_ok = true;
  if (auth_field != nullptr) {
    std::string mode;
    mode_ok = false;
    if (read_string(*auth_field, mode)) {
      if (lowercase(mode) == "none") {
        a.mode = AuthMode::kNone;
        mode_ok = true;
      } else if (lowercase(mode) == "required") {
        if (!config.auth.enabled) {
          problem(*auth_field,
                  "required needs the top-level auth: section (the keys or tokens "
                  "that clients authenticate with)");
        } else {
          a.mode = AuthMode::kRequired;
          mode_ok = true;
        }
      } else if (lowercase(mode) == "upstream") {
        a.mode = AuthMode::kUpstream;
        mode_ok = true;
      } else {
        problem(*auth_field, quote(mode) + " is not one of none, required, upstream");
      }
    }
  }

  const Field* forward_field = fields.find("forward_headers");
  const std::size_t problems_before = problems_.size();
  if (forward_field != nullptr) {
    std::vector<std::string> names;
    if (read_string_list(*forward_field, true, names)) {
      std::map<std::string, std::size_t> seen;
      for (std::size_t i = 0; i < names.size(); ++i) {
        const std::string& name = names[i];
        const std::string lower_name = lowercase(name);
        if (name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)) {
          problem(*forward_field, quote(name) +
                                      " is not a valid header name (letters, digits "
                                      "and !#$%&'*+-.^_`|~ only)");
          continue;
        }
        if (auto why = unforwardable(lower_name)) {
          problem(*forward_field, name + " cannot be forwarded: it " + *why);
          continue;
        }
        if (!seen.emplace(lower_name, i).second) {
          problem(*forward_field, name + " is listed twice (header names ignore case)");
          continue;
        }
        const bool fixed = std::any_of(s.headers.begin(), s.headers.end(), [&](const auto& h) {
          return lowercase(h.first) == lower_name;
        });
        if (fixed) {
          problem(*forward_field, name +
                                      " is also set in headers; a header is either fixed "
                                      "or forwarded from each client");
          continue;
        }
        a.forward_headers.push_back(name);
      }
      if (a.forward_headers.size() > kMaxForwardHeaders) {
        problem(*forward_field,
                "at most " + std::to_string(kMaxForwardHeaders) + " headers can be forwarded");
      }
    }
  }
  const bool forward_ok = problems_.size() == problems_before;
  if (mode_ok && a.mode == AuthMode::kUpstream && a.forward_headers.empty() && forward_ok) {
    problem(*auth_field,
            "upstream needs forward_headers: the client headers the upstream "
            "authenticates, like forward_headers: [Cookie]");
  }

  a.persist = a.forward_headers.empty();
  if (const Field* x = fields.find("persist")) read_bool(*x, a.persist);

  if (const Field* x = fields.find("bind")) {
    auto binds = read_section(*x, nullptr);
    if (binds && !binds->list.empty()) {
      bool usable = true;
      if (mode_ok && a.mode != AuthMode::kRequired) {
        problem(*x, "binds parameters to token claims and needs auth: required");
        usable = false;
      } else if (config.auth.enabled && config.auth.jwt.keys.empty() && problems_.empty()) {
        problem(*x, "needs auth.jwt: claims come from JWTs (static tokens carry none)");
        usable = false;
      }
      for (const Field& b : binds->list) {
        const std::string& param = b.key.Scalar();
        if (declared.count(param) == 0) {
          problem(b.key_pos(), x->name + ": " + quote(param) +
                                   " is not a parameter of this stream (declare it in params)");
          continue;
        }
        std::string claim;
        if (!read_string(b, claim)) continue;
        if (claim.empty()) {
          problem(b, "needs the name of a claim, like sub");
          continue;
        }
        if (usable) a.bind[param] = std::move(claim);
      }
    }
  }
}

}  // namespace pb::config
