#include "core/compressed_feed.h"

namespace pb::core {

std::vector<hub::Buffer> compressed_preamble(const std::vector<hub::Buffer>& preamble,
                                             sse::Coding coding) {
  const std::string& head = *preamble.front();
  std::size_t end = head.find("\r\n\r\n");
  end = end == std::string::npos ? head.size() : end + 4;
  std::string plain = head.substr(end);
  for (std::size_t i = 1; i < preamble.size(); ++i) plain += *preamble[i];
  return {std::make_shared<const std::string>(head.substr(0, end)),
          std::make_shared<const std::string>(sse::open_stream(coding, plain))};
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
