#include "upstream/host_slots.h"

namespace pb::upstream {

std::size_t HostSlots::cap_of(const Origin& o) const {
  // No stream left (its last request is finishing): one slot, enough to
  // drain the queue of whoever comes next.
  return o.caps.empty() ? 1 : o.caps.begin()->first;
}

void HostSlots::add_user(const std::string& origin, std::size_t cap) {
  ++origins_[origin].caps[cap];
}

void HostSlots::remove_user(const std::string& origin, std::size_t cap) {
  auto it = origins_.find(origin);
  if (it == origins_.end()) return;
  auto c = it->second.caps.find(cap);
  if (c != it->second.caps.end() && --c->second == 0) it->second.caps.erase(c);
  if (it->second.caps.empty() && it->second.in_flight == 0 && it->second.waiting.empty()) {
    origins_.erase(it);
  }
}

bool HostSlots::try_acquire(const std::string& origin) {
  Origin& o = origins_[origin];
  if (!o.waiting.empty() || o.in_flight >= cap_of(o)) return false;
  ++o.in_flight;
  return true;
}

void HostSlots::release(const std::string& origin) {
  auto it = origins_.find(origin);
  if (it == origins_.end() || it->second.in_flight == 0) return;
  --it->second.in_flight;
  if (it->second.caps.empty() && it->second.in_flight == 0 && it->second.waiting.empty()) {
    origins_.erase(it);
  }
}

void HostSlots::enqueue(const std::string& origin, Ticket ticket) {
  origins_[origin].waiting.push_back(ticket);
}

std::optional<HostSlots::Ticket> HostSlots::next_waiting(const std::string& origin) {
  auto it = origins_.find(origin);
  if (it == origins_.end()) return std::nullopt;
  Origin& o = it->second;
  if (o.waiting.empty() || o.in_flight >= cap_of(o)) return std::nullopt;
  Ticket t = o.waiting.front();
  o.waiting.pop_front();
  ++o.in_flight;
  return t;
}

std::size_t HostSlots::cap(const std::string& origin) const {
  auto it = origins_.find(origin);
  return it == origins_.end() ? 0 : cap_of(it->second);
}

std::size_t HostSlots::in_flight(const std::string& origin) const {
  auto it = origins_.find(origin);
  return it == origins_.end() ? 0 : it->second.in_flight;
}

std::size_t HostSlots::waiting(const std::string& origin) const {
  auto it = origins_.find(origin);
  return it == origins_.end() ? 0 : it->second.waiting.size();
}

}  // namespace pb::upstream
