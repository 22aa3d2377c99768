// Small helpers shared by the integration tests.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace pb::testing {

// Polls `pred` every 5 ms until it holds or `timeout` passes.
inline bool wait_until(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

// Sanitizer builds run several times slower: margins on time that a test
// asserts are multiplied by this (GCC defines these macros under
// -fsanitize=address and =thread).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kSlowdown = 4;
#else
constexpr int kSlowdown = 1;
#endif

// A JSON object made big enough that a change to one small member goes out
// as a patch: no event is larger than the snapshot of the new document
// (docs/protocol.md, "Event size"), and one patch operation alone takes
// about 40 bytes. `object` must end with '}'; a "pad" member is added.
inline std::string padded(const std::string& object) {
  const std::string pad = "\"pad\":\"" + std::string(80, '.') + "\"";
  std::string out = object;
  out.pop_back();
  if (out.size() > 1) out += ',';
  return out + pad + "}";
}

// A test config: port 0, short heartbeat and retry, an admin token, state
// in memory; `top` is added at the top level, `server` to the server section
// (indented by the caller with 2 spaces), `streams` is the list body.
inline std::string config_with(const std::string& streams, const std::string& top = "",
                               const std::string& server = "") {
  return "server:\n"
         "  listen: \"127.0.0.1:0\"\n"
         "  heartbeat: 1s\n"
         "  retry: 500ms\n"
         "  admin_token: test-token\n" +
         server +
         "history: 100\n"
         "state: { dir: \"\" }\n" +
         top + "streams:\n" + streams;
}

// One stream named `s`; `extra` is appended to its entry (indented by the
// caller with 4 spaces).
inline std::string one_stream_config(const std::string& url, const std::string& extra = "",
                                     const std::string& top = "", const std::string& server = "") {
  return config_with(
      "  - name: s\n    url: " + url + "\n    interval: 100ms\n    timeout: 2s\n" + extra, top,
      server);
}

}  // namespace pb::testing
