// read_long_poll_shape (server/long_poll_shape.h): two requests share a
// shape only when they differ in nothing but their position, and the
// position is read as the API reads it (cpp-httplib's query parser, the
// header winning over the query).
#include "server/long_poll_shape.h"

#include <gtest/gtest.h>

#include <string>

namespace pb::server {
namespace {

std::string req(const std::string& target, const std::string& fields = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n";
}

LongPollShape shape_of(const std::string& request) {
  LongPollShape s;
  EXPECT_TRUE(read_long_poll_shape(request, s)) << request;
  return s;
}

TEST(LongPollShapeTest, OnlyThePositionMayDiffer) {
  const std::string auth = "Authorization: Bearer t1\r\n";
  const LongPollShape base = shape_of(req("/events/a?transport=long-poll", auth));
  EXPECT_FALSE(base.last_id);
  for (const std::string& same :
       {req("/events/a?transport=long-poll&lastEventId=e-1", auth),
        req("/events/a?lastEventId=e-2&transport=long-poll", auth),
        req("/events/a?transport=long-poll", auth + "Last-Event-ID: e-3\r\n"),
        req("/events/a?transport=long-poll", "last-event-id: e-4\r\n" + auth)}) {
    EXPECT_EQ(shape_of(same).key, base.key) << same;
  }
  for (const std::string& other :
       {req("/events/b?transport=long-poll", auth),
        req("/events/a?transport=long-poll", "Authorization: Bearer t2\r\n"),
        req("/events/a?transport=long-poll", auth + "Cookie: pb_token=x\r\n"),
        req("/events/a?transport=long-poll", auth + "Accept-Encoding: gzip\r\n"),
        req("/events/a?transport=long-poll", auth + "Origin: https://o.example\r\n"),
        req("/events/a?transport=long-poll&format=merge-patch", auth),
        req("/events/a?transport=long-poll&access_token=t2", auth),
        req("/events/a?transport=long-poll&lastEventIdx=1", auth),
        "GET /events/a?transport=long-poll HTTP/1.0\r\nHost: h\r\n" + auth + "\r\n"}) {
    EXPECT_NE(shape_of(other).key, base.key) << other;
  }
}

TEST(LongPollShapeTest, ThePositionIsReadAsTheApiReadsIt) {
  EXPECT_EQ(shape_of(req("/e?transport=long-poll&lastEventId=5f2a9c1e-8")).last_id, "5f2a9c1e-8");
  EXPECT_EQ(shape_of(req("/e?lastEventId=ab%2Dc+d")).last_id, "ab-c d");
  // httplib's reading of a value with '=' in it: the part after the last one.
  EXPECT_EQ(shape_of(req("/e?lastEventId=a=b")).last_id, "b");
  // The first of several, as httplib's get_param_value() gives it.
  EXPECT_EQ(shape_of(req("/e?lastEventId=one&lastEventId=two")).last_id, "one");
  // The header wins; blanks are trimmed; empty means none.
  EXPECT_EQ(shape_of(req("/e?lastEventId=q", "Last-Event-ID:  h-1 \r\n")).last_id, "h-1");
  EXPECT_FALSE(shape_of(req("/e?lastEventId=")).last_id);
  EXPECT_FALSE(shape_of(req("/e", "Last-Event-ID: \r\n")).last_id);
}

TEST(LongPollShapeTest, WhatTheLoopMustNotAnswerIsRefused) {
  LongPollShape s;
  // A name that only decoding could tell from lastEventId.
  EXPECT_FALSE(read_long_poll_shape(req("/e?last%45ventId=1"), s));
  EXPECT_FALSE(read_long_poll_shape(req("/e?a+b=1"), s));
  EXPECT_FALSE(read_long_poll_shape("HEAD /e HTTP/1.1\r\nHost: h\r\n\r\n", s));
  EXPECT_FALSE(read_long_poll_shape("POST /e HTTP/1.1\r\nHost: h\r\n\r\n", s));
  // A body after the head.
  EXPECT_FALSE(read_long_poll_shape(req("/e", "Content-Length: 2\r\n") + "ab", s));
  EXPECT_FALSE(read_long_poll_shape("GET /e HTTP/1.1\r\nHost: h\r\n", s));
}

}  // namespace
}  // namespace pb::server
