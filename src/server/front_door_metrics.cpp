#include "server/front_door_metrics.h"

#include <fstream>
#include <string>

namespace pb::server {
namespace {

// Whether the kernel offers the "tls" upper-layer protocol (kTLS).
bool kernel_tls_available() {
  std::ifstream in("/proc/sys/net/ipv4/tcp_available_ulp");
  std::string word;
  while (in >> word) {
    if (word == "tls") return true;
  }
  return false;
}

}  // namespace

void write_front_door_metrics(std::ostream& o, const HttpServer& server, const hub::Stats& hub) {
  LoopStats s = server.stats();
  auto metric = [&](const char* name, const char* type, const char* help) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  metric("pollbridge_connections", "gauge",
         "Open client connections by state (sse: held by the hub).");
  o << "pollbridge_connections{state=\"handshake\"} " << s.handshaking << '\n';
  o << "pollbridge_connections{state=\"reading\"} " << s.reading << '\n';
  o << "pollbridge_connections{state=\"idle\"} " << s.idle << '\n';
  o << "pollbridge_connections{state=\"handling\"} " << s.handling << '\n';
  o << "pollbridge_connections{state=\"parked\"} " << s.parked << '\n';
  o << "pollbridge_connections{state=\"writing\"} " << s.writing << '\n';
  o << "pollbridge_connections{state=\"closing\"} " << s.closing << '\n';
  o << "pollbridge_connections{state=\"sse\"} " << hub.clients << '\n';
  metric("pollbridge_connections_limit", "gauge", "server.max_connections in effect.");
  o << "pollbridge_connections_limit " << server.limits().max_total() << '\n';
  metric("pollbridge_connections_accepted_total", "counter", "Connections accepted.");
  o << "pollbridge_connections_accepted_total " << s.accepted << '\n';
  metric("pollbridge_connections_refused_total", "counter",
         "Connections refused at a limit (answered 503 or 429) or shed unanswered.");
  o << "pollbridge_connections_refused_total{reason=\"max_connections\"} " << s.refused_total
    << '\n';
  o << "pollbridge_connections_refused_total{reason=\"max_connections_per_ip\"} "
    << s.refused_per_ip << '\n';
  o << "pollbridge_connections_refused_total{reason=\"shed\"} " << s.shed << '\n';
  metric("pollbridge_admissions_parked_total", "counter",
         "auth: upstream admissions that waited for their upstream on the connection loop.");
  o << "pollbridge_admissions_parked_total " << s.parks << '\n';
  metric("pollbridge_admissions_refused_total", "counter",
         "Admissions answered 429: server.max_pending_admissions_per_client.");
  o << "pollbridge_admissions_refused_total " << s.refused_pending << '\n';
  metric("pollbridge_requests_rejected_total", "counter",
         "Requests answered by the connection loop without routing, by status.");
  for (int i = 0; i < 10; ++i) {
    o << "pollbridge_requests_rejected_total{status=\"" << kRejectStatuses[i] << "\"} "
      << s.rejected[i] << '\n';
  }
  metric("pollbridge_front_door_threads", "gauge",
         "Threads of the front door (connection loop and request workers).");
  o << "pollbridge_front_door_threads " << server.thread_count() << '\n';
  metric("pollbridge_tls_handshakes_total", "counter", "TLS handshakes by result.");
  o << "pollbridge_tls_handshakes_total{result=\"ok\"} " << s.tls_handshakes << '\n';
  o << "pollbridge_tls_handshakes_total{result=\"failed\"} " << s.tls_failures << '\n';
  o << "pollbridge_tls_handshakes_total{result=\"plain_http\"} " << s.plain_on_tls << '\n';
  metric("pollbridge_tls_ktls_available", "gauge",
         "1 if the kernel offers TLS offload (tcp_available_ulp lists tls).");
  o << "pollbridge_tls_ktls_available " << (kernel_tls_available() ? 1 : 0) << '\n';
  metric("pollbridge_tls_ktls_handshakes_total", "counter",
         "TLS handshakes after which the kernel encrypts what is sent (kTLS).");
  o << "pollbridge_tls_ktls_handshakes_total " << s.ktls << '\n';
  metric("pollbridge_clients_tls", "gauge",
         "SSE clients on TLS, by whether the kernel encrypts their events.");
  o << "pollbridge_clients_tls{ktls=\"false\"} " << hub.tls_clients - hub.ktls_clients << '\n';
  o << "pollbridge_clients_tls{ktls=\"true\"} " << hub.ktls_clients << '\n';
}

std::string kernel_tls_status() {
  return kernel_tls_available() ? "available" : "unavailable";
}

}  // namespace pb::server
