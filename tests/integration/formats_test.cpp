// Formats per subscriber (?format=, Accept) end to end through the real
// binary: exact payloads per format, patches that reproduce the documents
// under an independent implementation of RFC 6902 and RFC 7386
// (nlohmann::json's patch() and merge_patch()), resuming per format, the
// multiplexed endpoint, refusals, and one rendition per event and format
// whatever the number of clients.
#include <httplib.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using Plain = nlohmann::json;  // independent of pollbridge's own JSON and appliers

// The documents a stream goes through: big enough (padded) that small
// changes are patches rather than snapshots.
const std::string kD0 = padded(R"({"a":1,"b":{"c":2,"d":[1,2]},"e":"x"})");
const std::string kD1 = padded(R"({"a":2,"b":{"c":2,"d":[1,2]},"e":"x"})");
const std::string kD2 = padded(R"({"a":2,"b":{"c":3,"d":[1,2,3]}})");
const std::string kD3 = padded(R"({"a":null,"b":{"c":3,"d":[1,2,3]}})");  // no merge patch
const std::string kD4 = padded(R"({"a":5,"b":{"c":3,"d":[1,2,3]}})");

class FormatsTest : public ::testing::Test {
 protected:
  void start(const std::string& streams) {
    proxy_ = std::make_unique<ProxyProcess>(config_with(streams));
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
    http_ = std::make_unique<httplib::Client>("127.0.0.1", proxy_->port());
  }
  // A stream polled only when the test asks (and once at start).
  static std::string stream(const std::string& name, const std::string& url,
                            const std::string& diff = "json-patch") {
    return "  - name: " + name + "\n    url: " + url + "\n    interval: 1h\n    diff: " + diff +
           (diff == "items" ? "\n    key: id\n" : "\n");
  }
  std::unique_ptr<SseClient> connect(const std::string& target, const SseClient::Headers& h = {}) {
    return std::make_unique<SseClient>(proxy_->port(), target, h);
  }
  void poll(const std::string& address) {
    auto r = http_->Post("/streams/" + address + "/poll?wait=true",
                         {{"Authorization", "Bearer test-token"}}, "", "text/plain");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  void wait_document(const std::string& address) {
    ASSERT_TRUE(wait_until([&] { return http_->Get("/streams/" + address)->status == 200; },
                           std::chrono::milliseconds(10000 * kSlowdown)));
  }
  Plain streams_entry(const std::string& address) {
    Plain all = Plain::parse(http_->Get("/streams")->body);
    for (const auto& s : all["streams"]) {
      if (s["name"] == address) return s;
    }
    return Plain();
  }

  FakeBackend backend_;
  std::unique_ptr<ProxyProcess> proxy_;
  std::unique_ptr<httplib::Client> http_;
};

// What a client holds after an event, by the RFCs (not by pollbridge's code).
Plain applied(const Plain& doc, const SseEvent& ev) {
  Plain data = Plain::parse(ev.data);
  if (ev.type == "snapshot") return data;
  if (ev.type == "patch") return doc.patch(data);
  if (ev.type == "merge-patch") {
    Plain out = doc;
    out.merge_patch(data);
    return out;
  }
  ADD_FAILURE() << "unexpected event " << ev.type;
  return doc;
}

TEST_F(FormatsTest, EachSubscriberGetsItsFormatAndEveryFormatReproducesTheDocuments) {
  backend_.set_body(kD0);
  start(stream("s", backend_.url()));
  wait_document("s");
  auto native = connect("/events/s");
  auto patch = connect("/events/s?format=json-patch");
  auto merge = connect("/events/s?format=merge-patch");
  auto snap = connect("/events/s?format=snapshot");
  auto accept_merge = connect("/events/s", {{"Accept", "application/merge-patch+json"}});
  auto accept_snap = connect("/events/s", {{"Accept", "text/event-stream, application/json"}});
  std::vector<SseClient*> all = {native.get(), patch.get(),        merge.get(),
                                 snap.get(),   accept_merge.get(), accept_snap.get()};
  EXPECT_EQ(native->header("X-Pollbridge-Format"), "");
  EXPECT_EQ(patch->header("X-Pollbridge-Format"), "json-patch");
  EXPECT_EQ(merge->header("X-Pollbridge-Format"), "merge-patch");
  EXPECT_EQ(snap->header("X-Pollbridge-Format"), "snapshot");
  EXPECT_EQ(accept_merge->header("X-Pollbridge-Format"), "merge-patch");
  EXPECT_EQ(accept_snap->header("X-Pollbridge-Format"), "snapshot");
  std::vector<Plain> docs(all.size());
  std::string first_id;
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i]->status(), 200);
    auto ev = all[i]->next();
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->type, "snapshot");
    EXPECT_EQ(ev->data, kD0);
    if (i == 0) first_id = ev->id;
    EXPECT_EQ(ev->id, first_id) << "ids are the stream's, the same in every format";
    docs[i] = applied(Plain(), *ev);
  }

  // The first change, exactly, in each format.
  backend_.set_body(kD1);
  poll("s");
  std::vector<SseEvent> got;
  for (auto* c : all) {
    auto ev = c->next();
    ASSERT_TRUE(ev);
    got.push_back(*ev);
  }
  for (const auto& ev : got) EXPECT_EQ(ev.id, got[0].id);
  EXPECT_EQ(got[0].type, "patch");
  EXPECT_EQ(got[0].data, R"([{"op":"replace","path":"/a","value":2}])");
  EXPECT_EQ(got[1].type, "patch");
  EXPECT_EQ(got[1].data, got[0].data);
  EXPECT_EQ(got[2].type, "merge-patch");
  EXPECT_EQ(got[2].data, R"({"a":2})");
  EXPECT_EQ(got[3].type, "snapshot");
  EXPECT_EQ(got[3].data, kD1) << "a snapshot client gets the whole document on every change";
  EXPECT_EQ(got[4].type, "merge-patch");
  EXPECT_EQ(got[4].data, got[2].data);
  EXPECT_EQ(got[5].type, "snapshot");
  EXPECT_EQ(got[5].data, kD1);
  for (std::size_t i = 0; i < all.size(); ++i) docs[i] = applied(docs[i], got[i]);

  // More changes: a removal, an array growing, a null (which no merge patch
  // can carry: the merge-patch subscribers get a snapshot), a value again.
  for (const std::string& next : {kD2, kD3, kD4}) {
    backend_.set_body(next);
    poll("s");
    std::string id;
    for (std::size_t i = 0; i < all.size(); ++i) {
      auto ev = all[i]->next();
      ASSERT_TRUE(ev);
      if (i == 0) id = ev->id;
      EXPECT_EQ(ev->id, id);
      docs[i] = applied(docs[i], *ev);
      EXPECT_EQ(docs[i], Plain::parse(next))
          << "client " << i << " after " << ev->type << " " << ev->data;
      if (i == 2 || i == 4) {
        EXPECT_EQ(ev->type, next == kD3 ? "snapshot" : "merge-patch") << ev->data;
      }
      if (i == 3 || i == 5) {
        EXPECT_EQ(ev->type, "snapshot");
      }
      if (i == 0 || i == 1) {
        EXPECT_EQ(ev->type, "patch");
      }
    }
  }
}

TEST_F(FormatsTest, ResumeWorksPerFormatReplayingRenditionsOrStartingFresh) {
  backend_.set_body(kD0);
  start(stream("s", backend_.url()));
  wait_document("s");
  auto native = connect("/events/s");
  auto s1 = native->next();
  ASSERT_TRUE(s1);
  const std::string epoch = s1->id.substr(0, s1->id.find('-'));
  auto id = [&](int seq) { return epoch + "-" + std::to_string(seq); };
  ASSERT_EQ(s1->id, id(1));
  backend_.set_body(kD1);
  poll("s");  // -2: nobody takes merge patches yet
  ASSERT_EQ(native->next()->id, id(2));
  auto merge = connect("/events/s?format=merge-patch");
  auto m0 = merge->next();
  ASSERT_TRUE(m0);
  EXPECT_EQ(m0->type, "snapshot");
  EXPECT_EQ(m0->id, id(2));
  std::vector<SseEvent> live;  // what the merge-patch subscriber got: -3 .. -7
  for (const std::string& next : {kD2, kD3, kD4}) {
    backend_.set_body(next);
    poll("s");
    live.push_back(*merge->next());
    ASSERT_EQ(native->next()->type, "patch");
  }
  backend_.set_failure(503);
  poll("s");  // -6 stale
  live.push_back(*merge->next());
  backend_.set_failure(0);
  poll("s");  // -7 ok, the same document
  live.push_back(*merge->next());
  ASSERT_EQ(live.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(live[i].id, id(3 + i));
  EXPECT_EQ(live[0].type, "merge-patch");
  EXPECT_EQ(live[1].type, "snapshot");
  EXPECT_EQ(live[2].type, "merge-patch");
  EXPECT_EQ(live[3].type, "status");
  EXPECT_EQ(live[4].type, "status");

  // Merge patches from -2: the renditions made while a subscriber was there,
  // byte for byte, with the stream's ids.
  auto r1 = connect("/events/s?format=merge-patch", {{"Last-Event-ID", id(2)}});
  auto replay = r1->take(5);
  ASSERT_EQ(replay.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(replay[i].id, live[i].id);
    EXPECT_EQ(replay[i].type, live[i].type);
    EXPECT_EQ(replay[i].data, live[i].data);
  }
  EXPECT_FALSE(r1->next(300ms)) << "nothing more";

  // From -1: event -2 was published when nobody took merge patches, so no
  // faithful replay exists: a fresh start (the current document).
  auto r2 = connect("/events/s?format=merge-patch", {{"Last-Event-ID", id(1)}});
  auto fresh = r2->next();
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->type, "snapshot");
  EXPECT_EQ(fresh->id, id(5)) << "the id of the event that made the document";
  EXPECT_EQ(Plain::parse(fresh->data), Plain::parse(kD4));
  EXPECT_FALSE(r2->next(300ms)) << "the stream is ok: no status follows";

  // Snapshots from -2: the changes fold into one snapshot of the current
  // document at the place of the last one; status events keep theirs.
  auto r3 = connect("/events/s?format=snapshot", {{"Last-Event-ID", id(2)}});
  auto snaps = r3->take(3);
  ASSERT_EQ(snaps.size(), 3u);
  EXPECT_EQ(snaps[0].type, "snapshot");
  EXPECT_EQ(snaps[0].id, id(5));
  EXPECT_EQ(snaps[0].data, kD4);
  EXPECT_EQ(snaps[1].type, "status");
  EXPECT_EQ(snaps[1].id, id(6));
  EXPECT_EQ(snaps[1].data, live[3].data);
  EXPECT_EQ(snaps[2].id, id(7));
  EXPECT_FALSE(r3->next(300ms));
  // From -6, only the status after it.
  auto r4 = connect("/events/s?format=snapshot", {{"Last-Event-ID", id(6)}});
  auto st = r4->next();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->type, "status");
  EXPECT_EQ(st->id, id(7));
  EXPECT_FALSE(r4->next(300ms));

  // The stream's own format replays its own events, whatever came before.
  auto r5 = connect("/events/s?format=json-patch", {{"Last-Event-ID", id(1)}});
  auto own = r5->take(6);
  ASSERT_EQ(own.size(), 6u);
  Plain doc = Plain::parse(kD0);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(own[i].id, id(2 + i));
    if (own[i].type != "status") doc = applied(doc, own[i]);
  }
  EXPECT_EQ(doc, Plain::parse(kD4));
  // A live event after a replay continues in the format.
  backend_.set_body(kD2);
  poll("s");
  auto next = r1->next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id, id(8));
  EXPECT_EQ(next->type, "merge-patch");
  EXPECT_EQ(Plain::parse(next->data), Plain::parse(R"({"a":2})"));
}

TEST_F(FormatsTest, MultiplexedConnectionsTakeAFormatForEveryStream) {
  backend_.set_body(kD0, "/a");
  backend_.set_body(kD0, "/b");
  start(stream("a", backend_.url("/a")) + stream("b", backend_.url("/b"), "merge-patch"));
  wait_document("a");
  wait_document("b");
  auto snap = connect("/events?stream=a&stream=b&format=snapshot");
  auto patch = connect("/events?stream=a&stream=b&format=json-patch");
  auto plain = connect("/events?stream=a&stream=b");
  ASSERT_EQ(snap->status(), 200);
  EXPECT_EQ(snap->header("X-Pollbridge-Format"), "snapshot");
  for (auto* c : {snap.get(), patch.get(), plain.get()}) {
    auto e = c->take(2);
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].type, "snapshot");
    EXPECT_EQ(e[1].type, "snapshot");
  }
  backend_.set_body(kD1, "/b");
  poll("b");
  auto s = snap->next(), p = patch->next(), n = plain->next();
  ASSERT_TRUE(s && p && n);
  EXPECT_EQ(s->id, p->id);
  EXPECT_EQ(s->id, n->id) << "composite ids are the same in every format";
  EXPECT_EQ(s->type, "snapshot");
  EXPECT_EQ(s->data, R"({"stream":"b","data":)" + kD1 + "}");
  EXPECT_EQ(p->type, "patch");
  EXPECT_EQ(p->data, R"({"stream":"b","data":[{"op":"replace","path":"/a","value":2}]})");
  EXPECT_EQ(n->type, "merge-patch") << "b's own mode";
  EXPECT_EQ(n->data, R"({"stream":"b","data":{"a":2}})");
  backend_.set_body(kD1, "/a");
  poll("a");
  auto s2 = snap->next(), p2 = patch->next();
  ASSERT_TRUE(s2 && p2);
  EXPECT_EQ(s2->data, R"({"stream":"a","data":)" + kD1 + "}");
  ASSERT_EQ(p2->type, "patch");
  Plain a = Plain::parse(kD0).patch(Plain::parse(p2->data)["data"]);
  EXPECT_EQ(a, Plain::parse(kD1));
  // Resuming the multiplexed snapshot connection from the first composite
  // id: a's change folds into its current snapshot, b's too.
  snap->close();
  backend_.set_body(kD3, "/b");
  poll("b");
  auto r = connect("/events?stream=a&stream=b&format=snapshot", {{"Last-Event-ID", s->id}});
  auto e = r->take(2);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].data, R"({"stream":"a","data":)" + kD1 + "}");
  EXPECT_EQ(e[1].data, R"({"stream":"b","data":)" + kD3 + "}");
  EXPECT_FALSE(r->next(300ms));
}

TEST_F(FormatsTest, UnknownOrImpossibleFormatsAreRefusedWith400) {
  backend_.set_body(kD0);
  backend_.set_body("[{\"id\":1}]", "/items");
  backend_.set_body("hello", "/text");
  start(stream("s", backend_.url()) + stream("i", backend_.url("/items"), "items") +
        stream("t", backend_.url("/text"), "text"));
  wait_document("s");
  wait_document("i");
  wait_document("t");
  auto expect_400 = [&](const std::string& target, const std::string& message) {
    auto r = http_->Get(target);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << target;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    Plain body = Plain::parse(r->body);
    EXPECT_EQ(body["error"], "bad_request");
    EXPECT_EQ(body["message"], message) << target;
  };
  const std::string unknown =
      "unknown format: use format=snapshot, format=json-patch or format=merge-patch";
  expect_400("/events/s?format=xml", unknown);
  expect_400("/events/s?format=", unknown);
  expect_400("/events/s?format=JSON-PATCH", unknown);
  expect_400("/events/s?format=snapshot&format=json-patch",
             "format is given more than once, with different values");
  expect_400("/events?stream=s&format=bogus", unknown);
  expect_400("/events/t?format=json-patch",
             "stream t (diff: text) cannot be sent as json-patch; a text stream sends only "
             "snapshots (format=snapshot)");
  expect_400("/events/i?format=merge-patch",
             "stream i (diff: items) cannot be sent as merge-patch; it offers format=snapshot "
             "besides its own events");
  expect_400("/events?stream=s&stream=t&format=merge-patch",
             "stream t (diff: text) cannot be sent as merge-patch; a text stream sends only "
             "snapshots (format=snapshot)");
  // HEAD is refused the same way, and answers the headers otherwise.
  auto head = http_->Head("/events/s?format=xml");
  EXPECT_EQ(head->status, 400);
  auto ok_head = http_->Head("/events/s?format=merge-patch");
  EXPECT_EQ(ok_head->status, 200);
  EXPECT_EQ(ok_head->get_header_value("X-Pollbridge-Format"), "merge-patch");
  // Accept is a preference: a stream that cannot send it sends its own.
  auto t = connect("/events/t", {{"Accept", "application/json-patch+json"}});
  ASSERT_EQ(t->status(), 200);
  EXPECT_EQ(t->header("X-Pollbridge-Format"), "text");
  auto te = t->next();
  ASSERT_TRUE(te);
  EXPECT_EQ(te->data, "hello");
  // Snapshots of items and text streams are served.
  EXPECT_EQ(connect("/events/i?format=snapshot")->status(), 200);
  EXPECT_EQ(connect("/events/t?format=snapshot")->status(), 200);
  // A refused request disturbs nobody: the stream still serves.
  auto c = connect("/events/s?format=merge-patch");
  ASSERT_TRUE(c->next());
}

TEST_F(FormatsTest, ItemsStreamsFoldEachChangeIntoOneSnapshot) {
  // Padded elements (from when item events had to be smaller than the
  // document; docs/protocol.md#event-size now allows 4x + 4 KiB).
  auto items = [](std::vector<std::pair<int, std::string>> es) {
    std::string out = "[";
    for (const auto& [id, v] : es) {
      if (out.size() > 1) out += ",";
      out += padded("{\"id\":" + std::to_string(id) + ",\"v\":\"" + v + "\"}");
    }
    return out + "]";
  };
  const std::string after = items({{2, "c"}, {3, "x"}, {4, "x"}, {5, "x"}, {6, "d"}});
  backend_.set_body(items({{1, "a"}, {2, "b"}, {3, "x"}, {4, "x"}, {5, "x"}}), "/items");
  start(stream("i", backend_.url("/items"), "items"));
  wait_document("i");
  auto own = connect("/events/i");
  auto snap = connect("/events/i?format=snapshot");
  ASSERT_TRUE(own->next());
  ASSERT_TRUE(snap->next());
  backend_.set_body(after, "/items");
  poll("i");
  auto events = own->take(3);  // deleted 1, updated 2, created 6
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, "deleted");
  EXPECT_EQ(events[1].type, "updated");
  EXPECT_EQ(events[2].type, "created");
  auto s = snap->next();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->type, "snapshot");
  EXPECT_EQ(s->id, events.back().id) << "one snapshot with the change's last id";
  EXPECT_EQ(s->data, after);
  EXPECT_FALSE(snap->next(300ms));
  EXPECT_EQ(streams_entry("i")["renditions"]["snapshot"], 1);
}

TEST_F(FormatsTest, EachEventIsRenderedOncePerFormatWhateverTheNumberOfClients) {
  backend_.set_body(kD0, "/a");
  backend_.set_body(kD0, "/b");
  start(stream("a", backend_.url("/a")) + stream("b", backend_.url("/b")));
  wait_document("a");
  wait_document("b");
  std::vector<std::unique_ptr<SseClient>> clients;
  auto add = [&](const std::string& target, int n) {
    for (int i = 0; i < n; ++i) {
      clients.push_back(connect(target));
      ASSERT_TRUE(clients.back()->next());
    }
  };
  add("/events/a?format=merge-patch", 1);
  add("/events/a?format=snapshot", 1);
  add("/events/b", 2);  // b: nobody asks for another format
  const std::vector<std::string> docs = {kD1, kD2, kD4, kD1, kD2, kD4};
  auto change = [&](std::size_t k) {
    backend_.set_body(docs[k], "/a");
    backend_.set_body(docs[k], "/b");
    poll("a");
    poll("b");
    for (auto& c : clients) ASSERT_TRUE(c->next()) << "every client gets every change";
  };
  for (std::size_t k = 0; k < 3; ++k) change(k);
  Plain a = streams_entry("a")["renditions"];
  EXPECT_EQ(a["merge-patch"], 3);
  EXPECT_EQ(a["snapshot"], 3);
  EXPECT_EQ(a["json-patch"], 0) << "the stream's own format needs no rendition";
  // Six times the clients: still one rendition per event and format.
  add("/events/a?format=merge-patch", 5);
  add("/events/a?format=snapshot", 5);
  add("/events?stream=b&format=merge-patch", 3);  // one channel for the three
  for (std::size_t k = 3; k < 6; ++k) change(k);
  a = streams_entry("a")["renditions"];
  EXPECT_EQ(a["merge-patch"], 6);
  EXPECT_EQ(a["snapshot"], 6);
  // b had no subscriber of another format until the multiplexed clients:
  // nothing was made for it before, and merge patches since.
  Plain b = streams_entry("b")["renditions"];
  EXPECT_EQ(b["merge-patch"], 3);
  EXPECT_EQ(b["snapshot"], 0);
  EXPECT_EQ(b["json-patch"], 0);
  // Once they are gone, no more renditions are made.
  clients.clear();
  ASSERT_TRUE(wait_until([&] { return streams_entry("a")["clients"] == 0; }));
  backend_.set_body(kD3, "/a");
  poll("a");
  EXPECT_EQ(streams_entry("a")["renditions"]["merge-patch"], 6);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
