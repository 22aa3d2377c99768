// "host:port" as server.listen, server.admin_listen and --listen take it:
// an IPv4 address or host name, or an IPv6 address in brackets
// ([::1]:8080); port 0..65535 (0: any free port).
//
// Threads: any (pure).
#pragma once

#include <string>
#include <string_view>

namespace pb::config {

// On failure sets `why`, worded to follow the quoted text ("\"x\" needs a
// port ...").
bool parse_listen(std::string_view text, std::string& host, int& port, std::string& why);

}  // namespace pb::config
