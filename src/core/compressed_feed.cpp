#include "core/compressed_feed.h"

namespace pb::core {

std::vector<hub::Buffer> compressed_preamble(const std::vector<hub::Buffer>& preamble,
                                             sse::Coding coding) {
  // The HTTP head with the coding's header and the retry line's piece is
  // the first buffer, then one piece per snapshot or replayed event: the
  // hub counts the items after the head as events (the access log).
  const std::string& head = *preamble.front();
  std::size_t end = head.find("\r\n\r\n");
  end = end == std::string::npos ? head.size() : end + 4;
  std::vector<std::string_view> parts;
  parts.reserve(preamble.size());
  parts.push_back(std::string_view(head).substr(end));
  for (std::size_t i = 1; i < preamble.size(); ++i) parts.push_back(*preamble[i]);
  std::vector<std::string> pieces = sse::open_stream(coding, parts);
  std::vector<hub::Buffer> out;
  out.reserve(pieces.size());
  out.push_back(std::make_shared<const std::string>(head.substr(0, end) + pieces[0]));
  for (std::size_t i = 1; i < pieces.size(); ++i) {
    out.push_back(std::make_shared<const std::string>(std::move(pieces[i])));
  }
  return out;
}

const hub::Buffer& compressed_heartbeat_buffer() {
  static const hub::Buffer kBuf = std::make_shared<const std::string>(sse::compressed_heartbeat());
  return kBuf;
}

std::function<void()> count_compressed(std::shared_ptr<std::atomic<std::int64_t>> users,
                                       sse::Coding coding) {
  users->fetch_add(1);
  auto& gauge = sse::compression_counters().sessions[static_cast<std::size_t>(coding)];
  gauge.fetch_add(1);
  return [users = std::move(users), &gauge] {
    users->fetch_sub(1);
    gauge.fetch_sub(1);
  };
}

}  // namespace pb::core
