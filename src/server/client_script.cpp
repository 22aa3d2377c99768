#include "server/client_script.h"
#include "server/entity_tag.h"
#include "server/httplib_bridge.h"
#include "sse/content_coding.h"

#include <openssl/sha.h>
#include <zlib.h>

#include <string>

namespace pb::server {

namespace generated {
// Defined in the generated client_script_data.cpp.
extern const unsigned char kClientScript[];
extern const std::size_t kClientScriptSize;
extern const char kClientScriptVersion[];
}  // namespace generated

namespace {

// "<32 hex digits>": the first 16 bytes of the SHA-256 of `bytes`, quoted.
std::string strong_etag(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  static const char* kHex = "0123456789abcdef";
  std::string tag = "\"";
  for (int i = 0; i < 16; ++i) {
    tag.push_back(kHex[digest[i] >> 4]);
    tag.push_back(kHex[digest[i] & 0xf]);
  }
  return tag + "\"";
}

// The gzip (RFC 1952) form of `in`, at the best compression; empty on error.
std::string gzip(std::string_view in) {
  z_stream z{};
  // 15 + 16: the largest window, with a gzip header and trailer.
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    return "";
  }
  std::string out(deflateBound(&z, static_cast<uLong>(in.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END ? out : "";
}

}  // namespace

const ClientScript& client_script() {
  static const ClientScript script = [] {
    static const std::string gz = gzip(std::string_view(
        reinterpret_cast<const char*>(generated::kClientScript), generated::kClientScriptSize));
    ClientScript s;
    s.version = generated::kClientScriptVersion;
    s.identity.bytes = std::string_view(reinterpret_cast<const char*>(generated::kClientScript),
                                        generated::kClientScriptSize);
    s.identity.etag = strong_etag(s.identity.bytes);
    s.gzip.bytes = gz;
    if (!gz.empty()) s.gzip.etag = strong_etag(gz);
    return s;
  }();
  return script;
}

bool accepts_gzip(const std::string& accept_encoding) {
  // The negotiation of every other route (server.compression), with gzip
  // the only coding this copy offers.
  return sse::negotiate(&accept_encoding, {sse::Coding::kGzip}) == sse::Coding::kGzip;
}

void serve_client_script(const httplib::Request& req, httplib::Response& res, bool gzip_offered) {
  const ClientScript& script = client_script();
  bool gz = gzip_offered && !script.gzip.bytes.empty() &&
            accepts_gzip(HttplibBridge::accept_encoding(req).value_or(""));
  const ScriptRepresentation& rep = gz ? script.gzip : script.identity;

  bool versioned = req.has_param("v") && req.get_param_value("v") == script.version;
  res.set_header(
      "Cache-Control",
      versioned ? "public, max-age=" + std::to_string(kClientScriptMaxAgeSeconds) + ", immutable"
                : std::string("no-cache"));
  res.set_header("ETag", rep.etag);
  // Origin too: the API's CORS headers (added after this handler) vary by it.
  res.set_header("Vary", "Accept-Encoding, Origin");
  res.set_header("X-Content-Type-Options", "nosniff");

  if (req.has_header("If-None-Match") &&
      none_match_hits(req.get_header_value("If-None-Match"), rep.etag)) {
    // No Content-Length: the post-routing step takes off the 0 httplib
    // adds (server/answer_fields.h).
    res.status = 304;
    return;
  }
  if (gz) res.set_header("Content-Encoding", "gzip");
  // A content provider with a known length: httplib sends it as it is (it
  // compresses only bodies set with set_content).
  std::string_view bytes = rep.bytes;
  res.set_content_provider(
      bytes.size(), "text/javascript; charset=utf-8",
      [bytes](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        return sink.write(bytes.data() + offset, length);
      });
}

void register_client_script(httplib::Server& server, std::function<bool()> gzip_offered) {
  server.Get(kClientScriptPath, [gzip_offered = std::move(gzip_offered)](
                                    const httplib::Request& req, httplib::Response& res) {
    serve_client_script(req, res, !gzip_offered || gzip_offered());
  });
}

}  // namespace pb::server
