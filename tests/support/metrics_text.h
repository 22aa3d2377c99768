// Reading a /metrics page (Prometheus text format) in tests.
#pragma once

#include <cstdlib>
#include <string>

namespace pb::testing {

// The value of one series (`name` or `name{labels}`, spelled as on the
// page) at the start of a line, -1 if the page has none.
inline double metric_series(const std::string& metrics, const std::string& name) {
  std::size_t at = 0;
  while ((at = metrics.find(name + " ", at)) != std::string::npos) {
    if (at == 0 || metrics[at - 1] == '\n') return std::atof(metrics.c_str() + at + name.size());
    at += name.size();
  }
  return -1;
}

}  // namespace pb::testing
