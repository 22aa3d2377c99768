// The loader's one pass over the document, split by section: the server
// and state sections (server_section.cpp), the streams (stream_section.cpp),
// the cross-stream route checks (routes.cpp) and the top level
// (loader.cpp). Internal to config/.
//
// Threads: one Loader per load, on the loading thread.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/field_reader.h"
#include "config/limits.h"
#include "config/param_pattern.h"
#include "config/path_template.h"

namespace pb::config {

using namespace limits;

// Everything the cross-stream checks need about one stream.
struct StreamInfo {
  std::string name;
  bool name_ok = false;
  int name_line = 0;  // of the name (or the entry when it has none)
  int path_line = 0;  // of the path (or the name when the path is the default)
  std::string path;
  bool route_ok = false;
  std::vector<PathSegment> route;
  Pos path_pos;  // the path value, or the name when the path is the default
  std::string path_field;
  std::map<std::string, std::shared_ptr<const ParamPattern>> regexes;
};

class Loader : public FieldReader {
 public:
  using FieldReader::FieldReader;

  Config run(const std::string& text);

 private:
  void read_server(const Field& f, ServerConfig& server);
  void read_tls(const Field& f, TlsConfig& tls);
  void read_state(const Field& f, StateConfig& state);
  // state.redis, state.lease, state.prefix (state_cluster.cpp).
  void read_cluster_state(const Fields& fields, StateConfig& state);
  // log_section.cpp: the log: section.
  void read_log(const Field& f, LogConfig& log);
  // auth_section.cpp: the top-level auth: section and each stream's access
  // keys (auth, forward_headers, persist, bind).
  void read_auth(const Field& f, AuthConfig& auth);
  void read_jwt(const Field& f, JwtConfig& jwt);
  bool read_jwt_key(const Field& f, JwtKeyConfig& key);
  void read_stream_auth(const Fields& fields, const Config& config,
                        const std::set<std::string>& declared, StreamConfig& s);
  void read_streams(const Field& f, Config& config);
  void read_stream(const YAML::Node& entry, std::size_t index, Config& config);
  void read_stream_name(const Fields& fields, const std::string& prefix, Pos entry_pos,
                        StreamConfig& s, StreamInfo& info);
  std::set<std::string> read_params(const Field* params_field, StreamConfig& s, StreamInfo& info);
  void read_path(const Fields& fields, const std::string& prefix,
                 const std::set<std::string>& declared, StreamConfig& s, StreamInfo& info);
  void read_url(const Fields& fields, const std::string& prefix, Pos entry_pos,
                const std::set<std::string>& declared, StreamConfig& s);
  void read_request(const Fields& fields, StreamConfig& s);
  void read_diff_options(const Fields& fields, StreamConfig& s);
  // xml_section.cpp: a stream's xml: section.
  void read_xml(const Field& f, StreamConfig& s);
  // csv_html_section.cpp: csv: and html:, after parse (read_diff_options).
  void read_csv_html(const Fields& fields, StreamConfig& s);
  void read_polling(const Fields& fields, StreamConfig& s);
  void read_client_certificate(const Fields& fields, StreamConfig& s);
  // request_sections.cpp: pages:, oauth2:, login:.
  void read_pages(const Field& f, StreamConfig& s);
  void read_oauth2(const Field& f, StreamConfig& s);
  void read_login(const Field& f, StreamConfig& s);
  // A body with {param} placeholders needs a content type they can be
  // escaped for.
  void check_body_template(const Fields& fields, const std::set<std::string>& declared,
                           const StreamConfig& s);
  void check_routes();

  std::vector<StreamInfo> infos_;
  std::map<std::string, int> name_lines_;  // stream name -> line of its first use
};

}  // namespace pb::config
