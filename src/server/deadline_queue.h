// Deadlines of one fixed duration, for the connection loop. Every entry of a
// queue is due `duration` after it was pushed, so push order is deadline
// order: the queue is an intrusive FIFO list, and push, remove and "what is
// due next" are O(1) without any timer thread or heap. The loop keeps one
// queue per kind of deadline (whole head, body, idle keep-alive, response
// write, lingering close) and waits in epoll until the earliest front.
//
// Threads: one loop thread owns a queue and the links in it.
#pragma once

#include <chrono>

namespace pb::server {

using Clock = std::chrono::steady_clock;

// Embedded in the object that has a deadline.
struct DeadlineLink {
  DeadlineLink* prev = nullptr;
  DeadlineLink* next = nullptr;
  Clock::time_point due{};
  int queue = -1;         // which queue holds it; -1: none
  void* owner = nullptr;  // the object it belongs to
};

class DeadlineQueue {
 public:
  DeadlineQueue(int id, Clock::duration duration) : id_(id), duration_(duration) {}
  DeadlineQueue(const DeadlineQueue&) = delete;
  DeadlineQueue& operator=(const DeadlineQueue&) = delete;

  Clock::duration duration() const { return duration_; }

  // Appends `l` (not in any queue) due at now + duration.
  void push(DeadlineLink& l, Clock::time_point now) {
    l.due = now + duration_;
    l.queue = id_;
    l.prev = tail_;
    l.next = nullptr;
    if (tail_) {
      tail_->next = &l;
    } else {
      head_ = &l;
    }
    tail_ = &l;
  }

  void remove(DeadlineLink& l) {
    if (l.queue != id_) return;
    if (l.prev) {
      l.prev->next = l.next;
    } else {
      head_ = l.next;
    }
    if (l.next) {
      l.next->prev = l.prev;
    } else {
      tail_ = l.prev;
    }
    l.prev = l.next = nullptr;
    l.queue = -1;
  }

  // The earliest entry, or nullptr.
  DeadlineLink* front() const { return head_; }

 private:
  int id_;
  Clock::duration duration_;
  DeadlineLink* head_ = nullptr;
  DeadlineLink* tail_ = nullptr;
};

}  // namespace pb::server
