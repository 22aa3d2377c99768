// legacy-backend: the example's stand-in for an old JSON API that browsers
// used to poll. It serves a list of orders that changes every few seconds
// (statuses move on, orders arrive, delivered and cancelled ones go away,
// prices change), with ETag / If-None-Match so that pollbridge's conditional
// requests get 304 when nothing changed.
//
//   GET  /api/orders              {"updatedAt": ..., "orders": [...]}
//   GET  /api/orders?customer=N   the same, only customer N's orders
//   GET  /api/board               a plain-text summary (for diff: text)
//   POST /soap/orders             a SOAP 1.1 service (SOAPAction
//                                 "urn:example:orders/GetOrders"): the
//                                 orders as an ISO-8859-1 envelope with
//                                 namespaces and attributes; a Fault (HTTP
//                                 500) for any other action
//   POST /api/advance             apply one change now (demos and tests)
//   GET  /healthz                 "ok"
//
// Money is written with two decimals (12.50, 7.00): JSON parsers that
// rewrite numbers would show 12.5, pollbridge must not.
//
// Threads: main() waits for signals; one thread serves HTTP (cpp-httplib's
// pool); one thread applies a change every --tick. The order book is guarded
// by one mutex.
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

const char* kUsage =
    "usage: legacy-backend [--listen HOST] [--port N] [--seed N] [--tick MS] [--quiet]\n"
    "\n"
    "A small legacy JSON API whose orders change over time (pollbridge's example).\n"
    "\n"
    "  --listen HOST  address to bind (default 127.0.0.1)\n"
    "  --port N       port (default 9000; 0 picks a free one)\n"
    "  --seed N       seed of the changes (default: from the clock); the same seed\n"
    "                 gives the same sequence of changes\n"
    "  --tick MS      milliseconds between changes (default 2000; 0: only on\n"
    "                 POST /api/advance)\n"
    "  --quiet        do not log each change\n";

// Orders the book starts with and the most it holds; customers are 1..kCustomers.
constexpr int kInitialOrders = 6;
constexpr std::size_t kMaxOrders = 12;
constexpr int kCustomers = 5;
// Longest accepted --tick: a day.
constexpr long kMaxTickMs = 24L * 3600 * 1000;

const char* const kStatuses[] = {"new", "paid", "packed", "shipped", "delivered"};
constexpr int kDelivered = 4;
constexpr int kCancelled = -1;

const char* const kProducts[] = {"tea",    "coffee",  "mugs",  "kettle", "teapot",
                                 "filter", "grinder", "scale", "tray",   "spoons"};

struct Order {
  std::int64_t id = 0;
  int customer = 0;
  int status = 0;  // index into kStatuses, or kCancelled
  std::string product;
  int quantity = 0;
  std::int64_t total_cents = 0;
  std::string created_at;
};

std::string iso8601_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// JSON string literal (the values here are ASCII, but escape properly anyway).
std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

// 1250 -> "12.50": always two decimals, as a legacy API that formats money would.
std::string money(std::int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return buf;
}

const char* status_name(int status) {
  return status == kCancelled ? "cancelled" : kStatuses[status];
}

// FNV-1a, for ETags derived from the body (so a filtered view keeps its ETag
// while other customers' orders change).
std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// The order book and how it evolves. Thread-safe: every public method locks.
class OrderBook {
 public:
  explicit OrderBook(std::uint32_t seed) : rng_(seed) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < kInitialOrders; ++i) add_locked();
    updated_at_ = iso8601_now();
  }

  // One change: a status moves on, an order arrives, one goes away, or a
  // total is corrected. Returns a line describing it, for the log.
  std::string advance() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string what = change_locked();
    ++version_;
    updated_at_ = iso8601_now();
    return what;
  }

  // The /api/orders body; customer < 0 means every order.
  std::string orders_json(int customer) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out = "{\"updatedAt\":" + json_string(updated_at_) + ",\"orders\":[";
    bool first = true;
    for (const Order& o : orders_) {
      if (customer >= 0 && o.customer != customer) continue;
      if (!first) out += ",";
      first = false;
      out += "\n  {\"id\":" + std::to_string(o.id) + ",\"customer\":" + std::to_string(o.customer) +
             ",\"status\":" + json_string(status_name(o.status)) +
             ",\"product\":" + json_string(o.product) +
             ",\"quantity\":" + std::to_string(o.quantity) + ",\"total\":" + money(o.total_cents) +
             ",\"currency\":\"EUR\",\"createdAt\":" + json_string(o.created_at) + "}";
    }
    out += first ? "]}\n" : "\n]}\n";
    return out;
  }

  // The /soap/orders answer: an ISO-8859-1 SOAP 1.1 envelope, each order an
  // element with attributes (id, status) and children; customer names in
  // Latin-1 so that charsets show.
  std::string orders_soap() const {
    static const char* const kNames[] = {"Ana\xEFs", "Bj\xF6rn", "Chlo\xE9",
                                         "D\xE9sir\xE9"
                                         "e",
                                         "Fran\xE7ois"};
    std::lock_guard<std::mutex> lock(mu_);
    std::string out =
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        "xmlns:o=\"urn:example:orders\">\n<soap:Body>\n<o:GetOrdersResponse>\n<o:orders>\n";
    for (const Order& o : orders_) {
      out += "  <o:order id=\"" + std::to_string(o.id) + "\" status=\"" + status_name(o.status) +
             "\"><o:customer>" + kNames[(o.customer - 1 + kCustomers) % kCustomers] +
             "</o:customer><o:product>" + o.product + "</o:product><o:total currency=\"EUR\">" +
             money(o.total_cents) + "</o:total></o:order>\n";
    }
    return out + "</o:orders>\n</o:GetOrdersResponse>\n</soap:Body>\n</soap:Envelope>\n";
  }

  // The /api/board body: orders per status, as a wall display would show it.
  std::string board_text() const {
    std::lock_guard<std::mutex> lock(mu_);
    int counts[kDelivered + 1] = {};
    int cancelled = 0;
    std::int64_t open_cents = 0;
    for (const Order& o : orders_) {
      if (o.status == kCancelled) {
        ++cancelled;
        continue;
      }
      ++counts[o.status];
      if (o.status != kDelivered) open_cents += o.total_cents;
    }
    std::string out = "ORDER BOARD (change " + std::to_string(version_) + ")\n";
    char line[64];
    for (int s = 0; s <= kDelivered; ++s) {
      std::snprintf(line, sizeof line, "%-10s %3d\n", kStatuses[s], counts[s]);
      out += line;
    }
    std::snprintf(line, sizeof line, "%-10s %3d\n", "cancelled", cancelled);
    out += line;
    out += "open value " + money(open_cents) + " EUR\n";
    return out;
  }

 private:
  int roll(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  void add_locked() {
    Order o;
    o.id = next_id_++;
    o.customer = 1 + roll(kCustomers);
    o.product = kProducts[roll(static_cast<int>(std::size(kProducts)))];
    o.quantity = 1 + roll(4);
    // Whole euros now and then, so totals like 7.00 and 12.50 both show up.
    std::int64_t unit = 250 + 50 * roll(40);
    o.total_cents = unit * o.quantity;
    o.created_at = iso8601_now();
    orders_.push_back(std::move(o));
  }

  std::string change_locked() {
    // Keep the book between a few and kMaxOrders orders.
    int pick = roll(10);
    if (orders_.size() < 3) pick = 0;
    if (orders_.size() >= kMaxOrders && pick < 2) pick = 2;
    if (pick < 2) {
      add_locked();
      return "order " + std::to_string(orders_.back().id) + " created";
    }
    // Finished orders leave the book.
    auto done = std::find_if(orders_.begin(), orders_.end(), [](const Order& o) {
      return o.status == kDelivered || o.status == kCancelled;
    });
    if (pick < 4 && done != orders_.end()) {
      std::string what = "order " + std::to_string(done->id) + " removed";
      orders_.erase(done);
      return what;
    }
    Order& o = orders_[static_cast<std::size_t>(roll(static_cast<int>(orders_.size())))];
    if (o.status == kDelivered || o.status == kCancelled) {
      // Nothing moves on from there; a new order keeps the page lively.
      add_locked();
      return "order " + std::to_string(orders_.back().id) + " created";
    }
    if (pick == 4 && o.status < 2) {
      o.status = kCancelled;
      return "order " + std::to_string(o.id) + " cancelled";
    }
    if (pick == 5 && o.status == 0) {
      o.quantity += 1;
      o.total_cents += o.total_cents / (o.quantity - 1);
      return "order " + std::to_string(o.id) + " quantity " + std::to_string(o.quantity);
    }
    if (pick == 6 && o.status == 0) {
      // Big orders jump the queue: the order moves to the front of the list.
      Order moved = o;
      orders_.erase(orders_.begin() + (&o - orders_.data()));
      orders_.insert(orders_.begin(), std::move(moved));
      return "order " + std::to_string(orders_.front().id) + " moved to the front";
    }
    ++o.status;
    return "order " + std::to_string(o.id) + " " + status_name(o.status);
  }

  mutable std::mutex mu_;
  std::mt19937 rng_;
  std::vector<Order> orders_;
  std::int64_t next_id_ = 1001;
  std::uint64_t version_ = 1;
  std::string updated_at_;
};

// Sends `body`, or 304 when the client's If-None-Match names its ETag.
void reply(const httplib::Request& req, httplib::Response& res, const std::string& body,
           const char* content_type) {
  char etag[24];
  std::snprintf(etag, sizeof etag, "\"%016llx\"", static_cast<unsigned long long>(fnv1a(body)));
  res.set_header("ETag", etag);
  res.set_header("Cache-Control", "no-cache");
  const std::string inm = req.get_header_value("If-None-Match");
  if (!inm.empty() && (inm == "*" || inm.find(etag) != std::string::npos)) {
    res.status = 304;
    return;
  }
  res.set_content(body, content_type);
}

bool parse_number(const std::string& text, long min, long max, long& out) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  out = std::stol(text);
  return out >= min && out <= max;
}

int usage_error(const std::string& msg) {
  std::cerr << "legacy-backend: " << msg << "\n\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  long port = 9000;
  long tick_ms = 2000;
  bool quiet = false;
  std::uint32_t seed = static_cast<std::uint32_t>(
      std::chrono::system_clock::now().time_since_epoch().count() & 0xffffffffu);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    long n = 0;
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--quiet") {
      quiet = true;
    } else if (a == "--listen" && has_value) {
      host = argv[++i];
    } else if (a == "--port" && has_value) {
      if (!parse_number(argv[++i], 0, 65535, port)) return usage_error("--port expects 0..65535");
    } else if (a == "--seed" && has_value) {
      if (!parse_number(argv[++i], 0, 0xffffffffL, n)) {
        return usage_error("--seed expects 0..4294967295");
      }
      seed = static_cast<std::uint32_t>(n);
    } else if (a == "--tick" && has_value) {
      if (!parse_number(argv[++i], 0, kMaxTickMs, tick_ms)) {
        return usage_error("--tick expects milliseconds (0.." + std::to_string(kMaxTickMs) + ")");
      }
    } else {
      return usage_error("unknown or incomplete argument " + a);
    }
  }

  // Signals go to main() only (sigwait); every thread started below inherits
  // the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  OrderBook book(seed);
  std::mutex log_mu;
  auto log_change = [&](const std::string& what) {
    if (quiet) return;
    std::lock_guard<std::mutex> lock(log_mu);
    std::cout << "legacy-backend: " << what << std::endl;
  };

  httplib::Server server;
  server.Get("/api/orders", [&](const httplib::Request& req, httplib::Response& res) {
    long customer = -1;
    if (req.has_param("customer") &&
        !parse_number(req.get_param_value("customer"), 0, 999999, customer)) {
      res.status = 400;
      res.set_content("{\"error\":\"customer must be a number\"}\n", "application/json");
      return;
    }
    reply(req, res, book.orders_json(static_cast<int>(customer)), "application/json");
  });
  server.Get("/api/board", [&](const httplib::Request& req, httplib::Response& res) {
    reply(req, res, book.board_text(), "text/plain; charset=utf-8");
  });
  server.Post("/soap/orders", [&](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("SOAPAction") != "\"urn:example:orders/GetOrders\"") {
      res.status = 500;
      res.set_content(
          "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
          "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>"
          "<soap:Fault><faultcode>soap:Client</faultcode><faultstring>Unknown SOAPAction "
          "(expected \"urn:example:orders/GetOrders\")</faultstring></soap:Fault></soap:Body>"
          "</soap:Envelope>\n",
          "text/xml; charset=ISO-8859-1");
      return;
    }
    reply(req, res, book.orders_soap(), "text/xml; charset=ISO-8859-1");
  });
  server.Post("/api/advance", [&](const httplib::Request&, httplib::Response& res) {
    std::string what = book.advance();
    log_change(what + " (on request)");
    res.set_content("{\"changed\":" + json_string(what) + "}\n", "application/json");
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });

  int bound = port == 0 ? server.bind_to_any_port(host.c_str())
                        : (server.bind_to_port(host.c_str(), static_cast<int>(port))
                               ? static_cast<int>(port)
                               : -1);
  if (bound < 0) {
    std::cerr << "legacy-backend: cannot listen on " << host << ":" << port << "\n";
    return 1;
  }
  std::cout << "legacy-backend listening on " << host << ":" << bound << " (seed " << seed
            << ", tick " << tick_ms << "ms)" << std::endl;

  std::thread http_thread([&] { server.listen_after_bind(); });

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread ticker([&] {
    std::unique_lock<std::mutex> lock(stop_mu);
    for (;;) {
      if (tick_ms == 0) {
        stop_cv.wait(lock, [&] { return stopping; });
      } else {
        stop_cv.wait_for(lock, std::chrono::milliseconds(tick_ms), [&] { return stopping; });
      }
      if (stopping) return;
      lock.unlock();
      log_change(book.advance());
      lock.lock();
    }
  });

  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  std::cerr << "legacy-backend: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ": stopping\n";
  {
    std::lock_guard<std::mutex> lock(stop_mu);
    stopping = true;
  }
  stop_cv.notify_all();
  ticker.join();
  server.stop();
  http_thread.join();
  return 0;
}
