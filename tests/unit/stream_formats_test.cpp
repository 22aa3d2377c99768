// Renditions of a stream's events for subscribers of other formats: made
// once per event and format in use, never for formats nobody uses, and also
// for a subscriber that arrives while the writer is recording (a
// deterministic race: the store's append waits at a latch).
#include <gtest/gtest.h>

#include <thread>

#include "json/document.h"
#include "stream/local_coordinator.h"
#include "stream/stream.h"
#include "support/faulty_store.h"
#include "support/file_local.h"
#include "support/latch.h"

namespace pb::stream {
namespace PB_FILE_LOCAL {

using testing::FaultyStore;
using testing::Latch;

// Records what a subscriber of `format` would be sent for each event.
struct Recorder : Listener {
  Recorder(Stream& s, Format f) : stream(s), format(f) {}
  void on_event(const EventPtr& ev) override {
    if (EventPtr r = stream.rendition_for_listener(ev, format)) got.push_back(r);
  }
  Stream& stream;
  Format format;
  std::vector<EventPtr> got;
};

Stream::Options json_patch_options() {
  Stream::Options o;
  o.diff.mode = config::DiffMode::kJsonPatch;
  return o;
}

const std::string kPad(80, '.');
json::Json doc(int a) {
  return json::parse("{\"a\":" + std::to_string(a) + ",\"pad\":\"" + kPad + "\"}");
}

TEST(StreamFormatsTest, OneRenditionPerEventAndFormatWhateverTheSubscriberCount) {
  FaultyStore store;
  LocalCoordinator local;
  Stream s("k", "k", json_patch_options(), &store, &local, Clock::now());
  ASSERT_TRUE(s.update(doc(0), Clock::now()));
  std::vector<std::unique_ptr<Recorder>> subs;
  {
    MutexLock lock(s.mutex());
    for (int i = 0; i < 50; ++i) {
      Format f = i % 2 ? Format::kMergePatch : Format::kSnapshot;
      s.add_format_user_locked(f);
      subs.push_back(std::make_unique<Recorder>(s, f));
      s.add_listener_locked(subs.back().get());
    }
  }
  for (int k = 1; k <= 4; ++k) ASSERT_TRUE(s.update(doc(k), Clock::now()));
  EXPECT_EQ(s.renditions_made(Format::kMergePatch), 4u);
  EXPECT_EQ(s.renditions_made(Format::kSnapshot), 4u);
  EXPECT_EQ(s.renditions_made(Format::kJsonPatch), 0u) << "nobody asked";
  for (const auto& r : subs) {
    ASSERT_EQ(r->got.size(), 4u);
    // Every subscriber of a format holds the very same buffers.
    EXPECT_EQ(r->got[3]->wire, subs[r->format == Format::kSnapshot ? 0 : 1]->got[3]->wire);
  }
  EXPECT_EQ(subs[1]->got[0]->type, "merge-patch");
  EXPECT_EQ(subs[1]->got[0]->data, R"({"a":1})");
  EXPECT_EQ(subs[0]->got[3]->type, "snapshot");
  EXPECT_EQ(subs[0]->got[3]->data, json::dump(doc(4)));
  EXPECT_EQ(subs[0]->got[3]->id, subs[1]->got[3]->id);
  // The current snapshot is the one made for the snapshot subscribers.
  EXPECT_EQ(s.snapshot(), subs[0]->got[3]);
  {
    MutexLock lock(s.mutex());
    for (auto& r : subs) s.remove_listener_locked(r.get());
  }
  for (int i = 0; i < 50; ++i)
    s.remove_format_user(i % 2 ? Format::kMergePatch : Format::kSnapshot);
  ASSERT_TRUE(s.update(doc(9), Clock::now()));
  EXPECT_EQ(s.renditions_made(Format::kMergePatch), 4u) << "none once the subscribers left";
  EXPECT_EQ(s.renditions_made(Format::kSnapshot), 4u);
}

TEST(StreamFormatsTest, ASubscriberArrivingWhileTheWriterRecordsGetsItsRendition) {
  FaultyStore store;
  LocalCoordinator local;
  Stream s("k", "k", json_patch_options(), &store, &local, Clock::now());
  ASSERT_TRUE(s.update(doc(0), Clock::now()));
  auto gate = std::make_shared<Latch>();
  store.gate_appends(gate);
  // The writer diffs, finds no subscriber of another format, and waits in
  // the store's append.
  std::thread writer([&] { EXPECT_TRUE(s.update(doc(1), Clock::now())); });
  ASSERT_TRUE(gate->reached());
  EXPECT_EQ(s.renditions_made(Format::kMergePatch), 0u);
  Recorder merge(s, Format::kMergePatch);
  Recorder snap(s, Format::kSnapshot);
  {
    MutexLock lock(s.mutex());
    s.add_format_user_locked(Format::kMergePatch);
    s.add_format_user_locked(Format::kSnapshot);
    s.add_listener_locked(&merge);
    s.add_listener_locked(&snap);
  }
  gate->open();
  writer.join();
  ASSERT_EQ(merge.got.size(), 1u);
  EXPECT_EQ(merge.got[0]->type, "merge-patch");
  EXPECT_EQ(merge.got[0]->data, R"({"a":1})");
  ASSERT_EQ(snap.got.size(), 1u);
  EXPECT_EQ(snap.got[0]->data, json::dump(doc(1)));
  EXPECT_EQ(s.renditions_made(Format::kMergePatch), 1u);
  EXPECT_EQ(s.renditions_made(Format::kSnapshot), 1u);
  // The history holds the event with its rendition: a resume in merge
  // patches replays it.
  MutexLock lock(s.mutex());
  ResumePlan plan = s.plan_resume_locked(merge.got[0]->id.substr(0, 8) + "-1", Format::kMergePatch);
  EXPECT_FALSE(plan.fresh);
  ASSERT_EQ(plan.events.size(), 1u);
  EXPECT_EQ(plan.events[0], merge.got[0]);
  s.remove_listener_locked(&merge);
  s.remove_listener_locked(&snap);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::stream
