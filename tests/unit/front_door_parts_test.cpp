// Small parts of the front door: the fixed-duration deadline queues (order,
// removal from the middle), the connection counts (total and per address,
// released by a token from another thread) and the loop's own responses.
#include <gtest/gtest.h>

#include <thread>

#include "server/connection_limits.h"
#include "server/deadline_queue.h"
#include "server/error_response.h"
#include "support/file_local.h"

namespace pb::server {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

TEST(DeadlineQueueTest, PushOrderIsDeadlineOrderAndRemovalIsAnywhere) {
  DeadlineQueue q(0, 10s);
  DeadlineLink a, b, c;
  Clock::time_point t0{};
  q.push(a, t0);
  q.push(b, t0 + 1s);
  q.push(c, t0 + 2s);
  EXPECT_EQ(q.front(), &a);
  EXPECT_EQ(a.due, t0 + 10s);
  q.remove(b);  // the middle
  EXPECT_EQ(b.queue, -1);
  q.remove(a);
  EXPECT_EQ(q.front(), &c);
  q.push(a, t0 + 3s);  // re-armed: to the back
  q.remove(c);
  EXPECT_EQ(q.front(), &a);
  q.remove(a);
  EXPECT_EQ(q.front(), nullptr);
  DeadlineQueue other(1, 1s);
  other.push(b, t0);
  q.remove(b);  // not in this queue: nothing happens
  EXPECT_EQ(other.front(), &b);
}

PeerAddress addr(std::uint8_t last) {
  PeerAddress p;
  p.bytes[10] = p.bytes[11] = 0xff;
  p.bytes[12] = 10;
  p.bytes[15] = last;
  return p;
}

TEST(ConnectionLimitsTest, TotalAndPerAddressLimitsAndTokensThatReleaseElsewhere) {
  auto limits = std::make_shared<ConnectionLimits>(3, 2);
  EXPECT_EQ(limits->acquire(addr(1)), ConnectionLimits::kOk);
  EXPECT_EQ(limits->acquire(addr(1)), ConnectionLimits::kOk);
  EXPECT_EQ(limits->acquire(addr(1)), ConnectionLimits::kTooManyFromAddress);
  EXPECT_EQ(limits->acquire(addr(2)), ConnectionLimits::kOk);
  EXPECT_EQ(limits->acquire(addr(3)), ConnectionLimits::kTooMany);
  EXPECT_EQ(limits->open(), 3);
  std::shared_ptr<void> token = limits->token(addr(1));
  std::thread([t = std::move(token)]() mutable { t.reset(); }).join();
  EXPECT_EQ(limits->open(), 2);
  EXPECT_EQ(limits->acquire(addr(1)), ConnectionLimits::kOk);
  EXPECT_EQ(addr(7).ip(), "10.0.0.7");
}

TEST(ErrorResponseTest, LoopAnswersCloseAndCarryAJsonBody) {
  std::string r = error_response(431, "too \"big\"");
  EXPECT_EQ(r.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u);
  EXPECT_NE(r.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_NE(r.find("{\"error\":\"header_too_large\",\"message\":\"too \\\"big\\\"\"}\n"),
            std::string::npos);
  EXPECT_NE(error_response(503, "x").find("\r\nRetry-After: 5\r\n"), std::string::npos);
  EXPECT_EQ(error_response(400, "x").find("Retry-After"), std::string::npos);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::server
