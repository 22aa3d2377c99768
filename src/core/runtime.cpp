#include "core/runtime.h"

#include <algorithm>
#include <iostream>

#include <unistd.h>

#include "config/url.h"
#include "core/mux_channel.h"
#include "diff/differ.h"
#include "upstream/url.h"

namespace pb::core {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

std::vector<std::string> split_segments(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

std::shared_ptr<const StreamTemplate> make_template(const config::StreamConfig& cfg) {
  auto t = std::make_shared<StreamTemplate>();
  t->cfg = cfg;
  const std::string prefix = "/events/";
  std::string rest = cfg.path.empty() ? cfg.name
                     : cfg.path.compare(0, prefix.size(), prefix) == 0
                         ? cfg.path.substr(prefix.size())
                         : cfg.path;
  t->segments = split_segments(rest);
  for (const auto& [name, pattern] : cfg.params) {
    t->params.emplace_back(name, std::regex(pattern, std::regex::ECMAScript));
  }
  return t;
}

// server.hub_threads: 0 means one per core, at most kMaxAutoHubThreads.
std::size_t hub_threads(std::size_t configured) {
  if (configured) return configured;
  std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::min(cores, kMaxAutoHubThreads);
}

// Locks the streams of several instances in address order: the one lock
// order for holding more than one stream lock (a publish holds one stream
// lock, then a channel's own lock).
std::vector<std::unique_lock<std::mutex>> lock_streams(
    const std::vector<std::shared_ptr<Instance>>& insts) {
  std::vector<Instance*> order;
  for (const auto& i : insts) order.push_back(i.get());
  std::sort(order.begin(), order.end(),
            [](Instance* a, Instance* b) { return a->address() < b->address(); });
  std::vector<std::unique_lock<std::mutex>> locks;
  for (Instance* i : order) locks.emplace_back(i->stream().mutex());
  return locks;
}

// The address of a stream without parameters: its path after /events/.
std::string plain_address(const StreamTemplate& t) {
  std::string address;
  for (std::size_t i = 0; i < t.segments.size(); ++i) address += (i ? "/" : "") + t.segments[i];
  return address.empty() ? t.cfg.name : address;
}

diff::Options diff_options(const config::StreamConfig& cfg) {
  diff::Options o;
  o.mode = cfg.diff;
  o.key = diff::KeySpec::parse(cfg.key);
  return o;
}

}  // namespace

Instance::Instance(std::string address, std::shared_ptr<const StreamTemplate> tmpl,
                   config::StreamConfig cfg, std::size_t history, std::size_t history_bytes,
                   stream::Store* store, hub::Hub& hub)
    : address_(std::move(address)),
      tmpl_(std::move(tmpl)),
      cfg_(std::move(cfg)),
      hub_(hub),
      feed_(hub.create_feed()),
      last_client_ns_(steady_ns()) {
  stream::Stream::Options opts;
  opts.diff = diff_options(cfg_);
  opts.history = history;
  opts.history_bytes = history_bytes;
  stream_ = std::make_unique<stream::Stream>(address_, opts, store, stream::Clock::now());
  config::UrlParts parts;
  std::string why;
  if (!config::parse_url(cfg_.url, parts, why)) {
    throw std::invalid_argument("stream " + address_ + ": url " + why);
  }
  upstream::Url url{parts.scheme, parts.host,
                    parts.port ? parts.port : (parts.scheme == "https" ? 443 : 80), parts.target};
  poller_ = std::make_unique<upstream::Poller>(cfg_, url, *stream_);
  std::lock_guard<std::mutex> lock(stream_->mutex());
  stream_->add_listener_locked(this);
}

Instance::~Instance() = default;

void Instance::on_event(const stream::EventPtr& ev) {
  hub_.publish(feed_, ev->wire);
}

std::chrono::steady_clock::time_point Instance::last_client() const {
  return SteadyClock::time_point(std::chrono::nanoseconds(last_client_ns_.load()));
}

void Instance::touch() {
  last_client_ns_.store(steady_ns());
}

Runtime::Runtime(const config::Config& cfg, std::unique_ptr<stream::Store> store)
    : cfg_(cfg),
      store_(std::move(store)),
      hub_(hub::Options{hub_threads(cfg.server.hub_threads), cfg.server.heartbeat,
                        cfg.server.client_backlog_events, cfg.server.client_backlog_bytes}),
      scheduler_(kProcessingThreads) {
  for (const auto& s : cfg_.streams) {
    auto t = make_template(s);
    templates_.push_back(t);
    if (!t->parameterized()) {
      std::string address = plain_address(*t);
      instances_[address] = make_instance(address, t, {});
    }
  }
}

Runtime::~Runtime() {
  stop(std::chrono::milliseconds(0));
}

std::shared_ptr<Instance> Runtime::make_instance(const std::string& address,
                                                 const std::shared_ptr<const StreamTemplate>& tmpl,
                                                 const std::map<std::string, std::string>& values) {
  config::StreamConfig cfg = tmpl->cfg;
  cfg.url = upstream::expand_template(cfg.url, values);
  std::size_t history = cfg.history ? cfg.history : cfg_.history;
  return std::make_shared<Instance>(address, tmpl, cfg, history, cfg_.history_bytes, store_.get(),
                                    hub_);
}

void Runtime::start() {
  hub_.start();
  scheduler_.start();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [addr, inst] : instances_) scheduler_.add(&inst->poller());
  janitor_ = std::thread([this] { janitor(); });
}

void Runtime::stop(std::chrono::milliseconds drain) {
  {
    std::lock_guard<std::mutex> lock(janitor_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  janitor_cv_.notify_all();
  if (janitor_.joinable()) janitor_.join();
  // Clients first, so that nobody waits on a stream that stops changing.
  hub_.stop(drain);
  scheduler_.stop();
}

std::shared_ptr<Instance> Runtime::find(const std::string& address, bool create,
                                        LookupError* error) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(address);
  if (it != instances_.end()) return it->second;
  auto reloading = [&](const StreamTemplate& t) {
    if (std::find(reloading_.begin(), reloading_.end(), t.cfg.name) == reloading_.end()) {
      return false;
    }
    if (error) *error = {503, "stream " + t.cfg.name + " is being reloaded; retry"};
    return true;
  };
  std::vector<std::string> segs = split_segments(address);
  for (const auto& t : templates_) {
    if (!t->parameterized() && plain_address(*t) == address && reloading(*t)) return nullptr;
    if (!t->parameterized() || t->segments.size() != segs.size()) continue;
    std::map<std::string, std::string> values;
    bool literal_match = true;
    for (std::size_t i = 0; i < segs.size() && literal_match; ++i) {
      const std::string& ts = t->segments[i];
      if (ts.size() > 2 && ts.front() == '{' && ts.back() == '}') {
        values[ts.substr(1, ts.size() - 2)] = segs[i];
      } else if (ts != segs[i]) {
        literal_match = false;
      }
    }
    if (!literal_match) continue;
    if (reloading(*t)) return nullptr;
    for (const auto& [name, re] : t->params) {
      if (!std::regex_match(values[name], re)) {
        if (error) {
          *error = {400, "parameter " + name + " of stream " + t->cfg.name +
                             " does not match its pattern " + t->cfg.params.at(name)};
        }
        return nullptr;
      }
    }
    if (!create) {
      if (error) *error = {404, "stream " + address + " has no live instance"};
      return nullptr;
    }
    std::size_t live = 0;
    for (const auto& [a, inst] : instances_) live += &inst->tmpl() == t.get();
    if (live >= t->cfg.max_instances) {
      if (error) {
        *error = {503, "stream " + t->cfg.name + " has reached max_instances (" +
                           std::to_string(t->cfg.max_instances) + ")"};
      }
      return nullptr;
    }
    auto inst = make_instance(address, t, values);
    instances_[address] = inst;
    scheduler_.add(&inst->poller());
    return inst;
  }
  if (error) *error = {404, "no stream named " + address};
  return nullptr;
}

std::function<void()> Runtime::client_closer(const std::shared_ptr<Instance>& inst) {
  return [inst] {
    inst->touch();
    inst->stream().clients().fetch_sub(1);
  };
}

bool Runtime::attach(std::shared_ptr<Instance> inst, int fd, std::string head,
                     const std::optional<std::string>& last_id) {
  bool ok;
  for (;;) {
    stream::Stream& s = inst->stream();
    inst->touch();
    s.clients().fetch_add(1);
    std::unique_lock<std::mutex> lock(s.mutex());
    if (inst->retired_locked()) {
      // Removed while this client was connecting: use its successor.
      lock.unlock();
      s.clients().fetch_sub(1);
      auto next = find(inst->address(), true, nullptr);
      if (!next) {
        ::close(fd);
        return false;
      }
      inst = next;
      continue;
    }
    stream::ResumePlan plan = s.plan_resume_locked(last_id);
    std::vector<hub::Buffer> preamble;
    preamble.reserve(plan.events.size() + 1);
    preamble.push_back(std::make_shared<const std::string>(std::move(head)));
    for (const auto& ev : plan.events) preamble.push_back(ev->wire);
    ok = hub_.attach(inst->feed(), fd, std::move(preamble), client_closer(inst));
    break;
  }
  scheduler_.wake(&inst->poller());
  return ok;
}

bool Runtime::attach_mux(const std::vector<std::shared_ptr<Instance>>& insts, int fd,
                         std::string head, const std::optional<std::string>& last_id) {
  std::string key;
  for (const auto& i : insts) key += i->address() + "\n";
  for (;;) {
    std::shared_ptr<MuxChannel> ch;
    bool fresh = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& slot = channels_[key];
      if (!slot) {
        slot = std::make_shared<MuxChannel>(insts, hub_);
        fresh = true;
      }
      ch = slot;
    }
    auto locks = lock_streams(insts);
    bool member_retired = false;
    for (const auto& i : insts) member_retired = member_retired || i->retired_locked();
    if (member_retired) {
      // An instance was replaced while this client connected: use the
      // successors (and a channel made of them).
      locks.clear();
      std::vector<std::shared_ptr<Instance>> next;
      for (const auto& i : insts) {
        auto n = find(i->address(), true, nullptr);
        if (!n) {
          ::close(fd);
          return false;
        }
        next.push_back(n);
      }
      return attach_mux(next, fd, std::move(head), last_id);
    }
    if (fresh) ch->start_locked();
    if (ch->retired_locked()) continue;  // the janitor retired it meanwhile
    ch->sessions().fetch_add(1);
    for (const auto& i : insts) {
      i->touch();
      i->stream().clients().fetch_add(1);
    }
    std::vector<hub::Buffer> preamble;
    preamble.push_back(std::make_shared<const std::string>(std::move(head)));
    for (auto& b : ch->preamble_locked(last_id)) preamble.push_back(std::move(b));
    auto closer = [ch, insts] {
      ch->sessions().fetch_sub(1);
      for (const auto& i : insts) {
        i->touch();
        i->stream().clients().fetch_sub(1);
      }
    };
    bool ok = hub_.attach(ch->feed(), fd, std::move(preamble), closer);
    locks.clear();
    for (const auto& i : insts) scheduler_.wake(&i->poller());
    return ok;
  }
}

bool Runtime::trigger(const std::shared_ptr<Instance>& inst,
                      std::optional<std::chrono::milliseconds> wait) {
  std::uint64_t ticket = scheduler_.trigger(&inst->poller());
  if (!wait) return true;
  return scheduler_.wait_polled(&inst->poller(), ticket, *wait);
}

std::vector<std::shared_ptr<Instance>> Runtime::instances() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<Instance>> out;
  for (const auto& [a, i] : instances_) out.push_back(i);
  return out;
}

void Runtime::retire(const std::shared_ptr<Instance>& inst) {
  scheduler_.remove(&inst->poller());
  std::lock_guard<std::mutex> lock(inst->stream().mutex());
  inst->retire_locked();
  inst->stream().remove_listener_locked(inst.get());
  hub_.close_feed(inst->feed());
}

namespace {

bool same_stream(const config::StreamConfig& a, const config::StreamConfig& b) {
  return a.name == b.name && a.url == b.url && a.path == b.path && a.params == b.params &&
         a.max_instances == b.max_instances && a.interval == b.interval && a.timeout == b.timeout &&
         a.method == b.method && a.body == b.body && a.content_type == b.content_type &&
         a.headers == b.headers && a.diff == b.diff && a.select == b.select &&
         a.ignore == b.ignore && a.key == b.key && a.idle == b.idle && a.linger == b.linger &&
         a.max_body == b.max_body && a.backoff_max == b.backoff_max &&
         a.tls_verify == b.tls_verify && a.ca_file == b.ca_file && a.history == b.history &&
         a.max_header_bytes == b.max_header_bytes &&
         a.max_connections_per_host == b.max_connections_per_host &&
         a.client_cert == b.client_cert && a.client_key == b.client_key;
}

}  // namespace

ReloadResult Runtime::reload(const config::Config& next) {
  std::lock_guard<std::mutex> one_at_a_time(reload_mu_);
  ReloadResult result;
  const auto& s0 = cfg_.server;
  const auto& s1 = next.server;
  if (s0.host != s1.host || s0.port != s1.port) result.ignored.push_back("server.listen");
  if (s0.heartbeat != s1.heartbeat || s0.retry != s1.retry || s0.workers != s1.workers ||
      s0.hub_threads != s1.hub_threads || s0.backlog != s1.backlog ||
      s0.max_clients != s1.max_clients || s0.client_backlog_events != s1.client_backlog_events ||
      s0.client_backlog_bytes != s1.client_backlog_bytes || s0.admin_token != s1.admin_token ||
      s0.cors_origins != s1.cors_origins || s0.shutdown_timeout != s1.shutdown_timeout ||
      s0.static_dir != s1.static_dir) {
    result.ignored.push_back("server");
  }
  if (cfg_.state.dir != next.state.dir || cfg_.state.fsync != next.state.fsync) {
    result.ignored.push_back("state");
  }
  if (cfg_.history_bytes != next.history_bytes) result.ignored.push_back("history_bytes");

  std::vector<std::shared_ptr<Instance>> old_instances;
  std::vector<std::shared_ptr<MuxChannel>> old_channels;
  std::vector<std::shared_ptr<const StreamTemplate>> fresh;  // templates to instantiate
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, std::shared_ptr<const StreamTemplate>> before;
    for (const auto& t : templates_) before[t->cfg.name] = t;
    std::vector<std::shared_ptr<const StreamTemplate>> after;
    std::vector<const StreamTemplate*> gone;
    for (const auto& sc : next.streams) {
      auto it = before.find(sc.name);
      if (it != before.end() && same_stream(it->second->cfg, sc)) {
        after.push_back(it->second);
        result.kept.push_back(sc.name);
        before.erase(it);
        continue;
      }
      auto t = make_template(sc);
      after.push_back(t);
      fresh.push_back(t);
      if (it != before.end()) {
        result.changed.push_back(sc.name);
        gone.push_back(it->second.get());
        reloading_.push_back(sc.name);
        before.erase(it);
      } else {
        result.added.push_back(sc.name);
      }
    }
    for (const auto& [name, t] : before) {
      result.removed.push_back(name);
      gone.push_back(t.get());
    }
    templates_ = after;
    for (auto it = instances_.begin(); it != instances_.end();) {
      bool dead = std::find(gone.begin(), gone.end(), &it->second->tmpl()) != gone.end();
      if (dead) {
        old_instances.push_back(it->second);
        it = instances_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = channels_.begin(); it != channels_.end();) {
      bool dead = false;
      for (const auto& m : it->second->members()) {
        dead =
            dead || std::find(old_instances.begin(), old_instances.end(), m) != old_instances.end();
      }
      if (dead) {
        old_channels.push_back(it->second);
        it = channels_.erase(it);
      } else {
        ++it;
      }
    }
    cfg_.streams = next.streams;
    cfg_.history = next.history;
  }
  for (const auto& ch : old_channels) {
    auto locks = lock_streams(ch->members());
    ch->stop_locked();
  }
  // The old instances finish their polls and release the store before the
  // new ones load the same state.
  for (const auto& inst : old_instances) retire(inst);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& t : fresh) {
      if (t->parameterized()) continue;
      std::string address = plain_address(*t);
      auto inst = make_instance(address, t, {});
      instances_[address] = inst;
      scheduler_.add(&inst->poller());
    }
    reloading_.clear();
  }
  return result;
}

void Runtime::janitor() {
  std::unique_lock<std::mutex> jl(janitor_mu_);
  while (!stopping_) {
    janitor_cv_.wait_for(jl, kJanitorPeriod);
    if (stopping_) break;
    jl.unlock();
    std::vector<std::shared_ptr<Instance>> retired;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = channels_.begin(); it != channels_.end();) {
        auto ch = it->second;
        if (ch->sessions().load() != 0) {
          ++it;
          continue;
        }
        auto locks = lock_streams(ch->members());
        if (ch->sessions().load() == 0) {
          ch->stop_locked();
          it = channels_.erase(it);
        } else {
          ++it;
        }
      }
      auto now = SteadyClock::now();
      for (auto it = instances_.begin(); it != instances_.end();) {
        auto& inst = it->second;
        if (inst->tmpl().parameterized() && inst->stream().client_count() == 0 &&
            now - inst->last_client() >= inst->cfg().linger) {
          retired.push_back(inst);
          it = instances_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& inst : retired) retire(inst);
    jl.lock();
  }
}

}  // namespace pb::core
