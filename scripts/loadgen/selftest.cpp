#include "selftest.h"

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_documents.h"
#include "client_pool.h"
#include "histogram.h"
#include "http_reader.h"
#include "longpoll_pool.h"
#include "sse_parser.h"

namespace pbl {

namespace {

int g_failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++g_failures;
    std::cerr << "FAIL: " << what << "\n";
  }
}

struct Collected {
  std::string type, data, id;
};

struct Collector : SseParser::Sink, HttpReader::BodySink {
  std::vector<Collected> events;
  std::vector<std::string> comments;
  std::vector<std::uint64_t> retries;
  SseParser parser;
  bool head_seen = false;
  void on_event(const SseEvent& e) override {
    events.push_back({std::string(e.type), std::string(e.data), std::string(e.id)});
  }
  void on_comment(std::string_view c) override { comments.emplace_back(c); }
  void on_retry(std::uint64_t ms) override { retries.push_back(ms); }
  bool on_head(const HttpReader&) override {
    head_seen = true;
    return true;
  }
  void on_body(const char* d, std::size_t n) override { parser.feed(d, n, *this); }
};

// Feeds `stream` split at every possible pair of positions and checks that
// the result never depends on the split.
std::vector<Collected> parse_all_splits(const std::string& stream, const std::string& name) {
  Collector whole;
  whole.parser.feed(stream.data(), stream.size(), whole);
  for (std::size_t a = 0; a <= stream.size(); ++a) {
    for (std::size_t b = a; b <= stream.size(); b += 3) {
      Collector c;
      c.parser.feed(stream.data(), a, c);
      c.parser.feed(stream.data() + a, b - a, c);
      c.parser.feed(stream.data() + b, stream.size() - b, c);
      bool same = c.events.size() == whole.events.size();
      for (std::size_t i = 0; same && i < c.events.size(); ++i) {
        same = c.events[i].type == whole.events[i].type &&
               c.events[i].data == whole.events[i].data && c.events[i].id == whole.events[i].id;
      }
      if (!same) {
        check(false, name + ": split at " + std::to_string(a) + "," + std::to_string(b));
        return whole.events;
      }
    }
  }
  return whole.events;
}

void test_sse() {
  {
    auto ev = parse_all_splits("retry: 3000\nid: 1\nevent: snapshot\ndata: {\"a\":1}\n\n", "basic");
    check(
        ev.size() == 1 && ev[0].type == "snapshot" && ev[0].data == "{\"a\":1}" && ev[0].id == "1",
        "basic event");
  }
  {
    auto ev = parse_all_splits("data: a\r\ndata: b\r\n\r\ndata:c\rdata:  d\r\r", "line endings");
    check(
        ev.size() == 2 && ev[0].data == "a\nb" && ev[1].data == "c\n d" && ev[0].type == "message",
        "CRLF / CR line endings, one space stripped");
  }
  {
    auto ev = parse_all_splits(": hi\n\nid: 7\ndata\n\ndata: x\n\nid\ndata: y\n\n", "ids");
    check(ev.size() == 3, "comment-only block dispatches nothing");
    check(ev.size() == 3 && ev[0].data.empty() && ev[0].id == "7", "data with no colon is empty");
    check(ev.size() == 3 && ev[1].id == "7", "last event id persists");
    check(ev.size() == 3 && ev[2].id.empty(), "empty id resets");
  }
  {
    auto ev = parse_all_splits("event: x\n\ndata: after\n\n", "type reset");
    check(ev.size() == 1 && ev[0].type == "message", "event type resets when nothing dispatched");
  }
  {
    auto ev = parse_all_splits(
        "\xEF\xBB\xBF"
        "data: bom\n\ndata: tail",
        "bom");
    check(ev.size() == 1 && ev[0].data == "bom", "BOM stripped; unterminated event not dispatched");
  }
  {
    std::string id_with_nul = std::string("id: a") + '\0' + "b\ndata: z\n\n";
    auto ev = parse_all_splits("id: ok\n\n" + id_with_nul, "nul id");
    check(ev.size() == 1 && ev[0].id == "ok", "id containing NUL ignored");
  }
  {
    Collector c;
    const std::string s = "retry: 1500\nretry: x\n: ping\n\n";
    c.parser.feed(s.data(), s.size(), c);
    check(c.retries.size() == 1 && c.retries[0] == 1500, "retry field");
    check(c.comments.size() == 1 && c.comments[0] == " ping", "comment text");
  }
}

void test_http() {
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string body = "6\r\ndata: \r\n3;ext=1\r\nabc\r\n2\r\n\n\n\r\n0\r\n\r\n";
  const std::string all = head + body;
  for (std::size_t a = 0; a <= all.size(); ++a) {
    Collector c;
    HttpReader r;
    auto s1 = r.feed(all.data(), a, c);
    auto s2 = r.feed(all.data() + a, all.size() - a, c);
    const bool ok = s1 != HttpReader::Status::kError && s2 == HttpReader::Status::kEnd &&
                    c.head_seen && r.status_code() == 200 && r.chunked() && c.events.size() == 1 &&
                    c.events[0].data == "abc";
    if (!ok) {
      check(false, "chunked body split at " + std::to_string(a));
      break;
    }
  }
  {
    Collector c;
    HttpReader r;
    const std::string plain =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\n";
    auto s = r.feed(plain.data(), plain.size(), c);
    check(s == HttpReader::Status::kNeedMore && c.events.size() == 1, "unframed body streams");
  }
  {
    Collector c;
    HttpReader r;
    const std::string bad = "HTTP/1.1 2x0 OK\r\n\r\n";
    check(r.feed(bad.data(), bad.size(), c) == HttpReader::Status::kError, "bad status rejected");
  }
}

void test_histogram() {
  for (std::uint64_t v :
       {0ull, 1ull, 1023ull, 1024ull, 1025ull, 4097ull, 123456ull, 999999999ull}) {
    const std::size_t i = Histogram::index_of(v);
    const std::uint64_t lo = Histogram::lower_bound_of(i);
    const std::uint64_t w = Histogram::width_of(i);
    check(lo <= v && v < lo + w, "bucket bounds for " + std::to_string(v));
    check(Histogram::index_of(lo) == i, "lower bound maps back for " + std::to_string(v));
  }
  Histogram h;
  for (int i = 1; i <= 1000; ++i) h.record_us(i * 100);  // 0.1 .. 100 ms
  const double p50 = static_cast<double>(h.quantile_us(0.5));
  const double p99 = static_cast<double>(h.quantile_us(0.99));
  check(p50 > 49900 && p50 < 50200, "p50 within 0.2% (" + std::to_string(p50) + ")");
  check(p99 > 98800 && p99 < 99300, "p99 within 0.2% (" + std::to_string(p99) + ")");
  check(h.max_us() == 100000 && h.count() == 1000, "max and count exact");
}

void test_find() {
  std::uint64_t v = 0;
  check(find_u64("{\"seq\":42,\"ts\":17}", "\"seq\"", v) && v == 42, "seq");
  check(find_u64("{\"seq\" : 42, \"ts\": 17}", "\"ts\"", v) && v == 17, "ts with spaces");
  check(!find_u64("{\"seqx\":1}", "\"seq\"", v), "no partial key");
  check(find_u64("{\"a\":\"\\\"seq\\\"\",\"seq\":5}", "\"seq\"", v) && v == 5, "key after string");
}

// The long-poll client's readers: pollbridge's JSON answer, nchan's headers.
void test_longpoll() {
  const std::string answer =
      "{\"events\":[{\"id\":\"e1-7\",\"event\":\"snapshot\",\"data\":{\"seq\":7,\"ts\":70,"
      "\"pad\":\"xx\"}},{\"id\":\"e1-8\",\"event\":\"snapshot\",\"data\":{\"seq\":8,"
      "\"ts\":80,\"pad\":\"xx\"}}],\"last_id\":\"e1-8\"}";
  const auto docs = find_seq_ts(answer);
  check(docs.size() == 2 && docs[0] == std::make_pair<std::uint64_t, std::uint64_t>(7, 70) &&
            docs[1] == std::make_pair<std::uint64_t, std::uint64_t>(8, 80),
        "long-poll answer: both events in order");
  check(find_last_id(answer) == "e1-8", "long-poll answer: last_id");
  check(find_seq_ts("{\"events\":[],\"last_id\":\"e1-8\"}").empty(), "empty answer");
  check(find_last_id("{\"events\":[]}").empty(), "no last_id");

  struct Head : HttpReader::BodySink {
    bool on_head(const HttpReader&) override { return true; }
    void on_body(const char*, std::size_t) override {}
  } sink;
  HttpReader r;
  const std::string nchan =
      "HTTP/1.1 200 OK\r\nLast-Modified: Thu, 01 Jan 2026 00:00:01 GMT\r\nEtag: 0\r\n"
      "Connection: keep-alive\r\nContent-Length: 2\r\n\r\n{}";
  check(r.feed(nchan.data(), nchan.size(), sink) == HttpReader::Status::kEnd,
        "nchan answer ends at its length");
  check(r.last_modified() == "Thu, 01 Jan 2026 00:00:01 GMT" && r.etag() == "0" &&
            !r.connection_close(),
        "nchan position headers");
}

// The compression runs' documents: the large one is about 50 KB and stays
// valid JSON as it changes; the orders shape's patch carries seq and ts as
// the load client reads them; a gzip head is seen.
void test_documents() {
  DocumentMaker large(Shape::kLarge, 0);
  const std::string d0 = large.next(0, 5).document;
  const std::string d3 = large.next(3, 7).document;
  check(d0.size() > 45000 && d0.size() < 60000,
        "large document about 50 KB (" + std::to_string(d0.size()) + ")");
  check(d0 != d3 && d0.size() / 100 == d3.size() / 100, "large document changes a little");
  check(nlohmann::json::parse(d3, nullptr, false).is_object(), "large document is JSON");
  std::uint64_t v = 0;
  check(find_u64(d3, "\"seq\"", v) && v == 3, "large document seq");
  DocumentMaker orders(Shape::kOrders, 0);
  orders.next(0, 1);
  const DocumentMaker::Change c = orders.next(1, 1234);
  std::uint64_t seq = 0, ts = 0;
  check(find_patch_u64(c.message, "seq", seq) && seq == 1 && find_patch_u64(c.message, "ts", ts) &&
            ts == 1234,
        "orders patch: seq and ts");
  check(!find_patch_u64("[{\"op\":\"remove\",\"path\":\"/seq\"}]", "seq", seq),
        "patch without a value");
  check(nlohmann::json::parse(c.message, nullptr, false).is_array() &&
            nlohmann::json::parse(c.document, nullptr, false).is_object(),
        "orders patch and document are JSON");

  struct Head : HttpReader::BodySink {
    bool on_head(const HttpReader&) override { return true; }
    void on_body(const char*, std::size_t) override {}
  } sink;
  HttpReader r;
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: GZIP\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  r.feed(head.data(), head.size(), sink);
  check(r.content_encoding() == "gzip", "Content-Encoding, lower-cased");
}

}  // namespace

bool run_self_test() {
  test_sse();
  test_http();
  test_histogram();
  test_find();
  test_longpoll();
  test_documents();
  if (g_failures == 0) std::cerr << "pb-loadgen self-test: ok\n";
  return g_failures == 0;
}

}  // namespace pbl
