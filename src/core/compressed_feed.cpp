#include "core/compressed_feed.h"

namespace pb::core {

std::vector<hub::Buffer> CompressedFeed::opening(const std::vector<hub::Buffer>& preamble,
                                                 sse::Coding coding) {
  const std::string& head = *preamble.front();
  std::size_t end = head.find("\r\n\r\n");
  end = end == std::string::npos ? head.size() : end + 4;
  std::vector<hub::Buffer> out;
  out.reserve(preamble.size());
  out.push_back(
      std::make_shared<const std::string>(head.substr(0, end) + sse::coding_header(coding) +
                                          sse::piece(std::string_view(head).substr(end))));
  for (std::size_t i = 1; i < preamble.size(); ++i) {
    const hub::Buffer& plain = preamble[i];
    if (cached_plain_.lock() != plain) {
      cached_piece_ = std::make_shared<const std::string>(sse::piece(*plain));
      cached_plain_ = plain;
    }
    out.push_back(cached_piece_);
  }
  sse::compression_counters().preambles.fetch_add(1, std::memory_order_relaxed);
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
