// The HTTP side of compression (server/response_coding.h): one entity tag
// per coding, the SSE head naming its coding with Vary merged, and the
// post-routing step compressing only what it should.
#include "server/response_coding.h"

#include <gtest/gtest.h>

#include "support/file_local.h"

namespace pb::server {
namespace PB_FILE_LOCAL {

TEST(ResponseCodingTest, OneEntityTagPerCoding) {
  EXPECT_EQ(coded_etag("\"a-1\"", sse::Coding::kIdentity), "\"a-1\"");
  EXPECT_EQ(coded_etag("\"a-1\"", sse::Coding::kGzip), "\"a-1-gzip\"");
  EXPECT_EQ(coded_etag("W/\"a-1\"", sse::Coding::kDeflate), "W/\"a-1-deflate\"");
  EXPECT_EQ(coded_etag("\"a-1-gzip\"", sse::Coding::kGzip), "\"a-1-gzip\"");
}

TEST(ResponseCodingTest, TheSseHeadNamesItsCodingAndMergesVary) {
  const std::string base = "HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\n";
  std::string cors = base + "Vary: Origin\r\n\r\nretry: 500\n\n";
  announce_coding(cors, sse::Coding::kGzip, true);
  EXPECT_EQ(cors, base +
                      "Vary: Origin, Accept-Encoding\r\nContent-Encoding: gzip\r\n\r\n"
                      "retry: 500\n\n");
  std::string plain = base + "\r\nretry: 500\n\n";
  announce_coding(plain, sse::Coding::kIdentity, true);
  EXPECT_EQ(plain, base + "Vary: Accept-Encoding\r\n\r\nretry: 500\n\n");
  std::string off = base + "\r\nretry: 500\n\n";
  announce_coding(off, sse::Coding::kIdentity, false);
  EXPECT_EQ(off, base + "\r\nretry: 500\n\n");
}

TEST(ResponseCodingTest, ThePostRoutingStepCompressesOnlyWhatItShould) {
  config::ServerConfig server;  // compression: [gzip]
  httplib::Request req;
  req.headers.emplace("Accept-Encoding", "gzip");
  const std::string big(4000, 'a');
  auto answer = [&](const std::string& body, const std::string& type, int status = 200) {
    httplib::Response res;
    res.status = status;
    res.set_content(body, type);
    res.set_header("Content-Length", std::to_string(body.size()));
    res.set_header("ETag", "\"x\"");
    compress_response(req, res, server);
    return res;
  };
  httplib::Response json = answer(big, "application/json");
  EXPECT_EQ(json.get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(json.get_header_value("Content-Length"), std::to_string(json.body.size()));
  EXPECT_EQ(json.headers.count("Content-Length"), 1u);
  EXPECT_EQ(json.get_header_value("ETag"), "\"x-gzip\"");
  EXPECT_EQ(json.get_header_value("Vary"), "Accept-Encoding");
  EXPECT_LT(json.body.size(), 100u);
  EXPECT_FALSE(answer("{}", "application/json").has_header("Content-Encoding")) << "small";
  EXPECT_FALSE(answer(big, "image/png").has_header("Content-Encoding")) << "not text";
  EXPECT_FALSE(answer(big, "application/json", 500).has_header("Content-Encoding"));
  req.headers.clear();
  EXPECT_FALSE(answer(big, "application/json").has_header("Content-Encoding")) << "not asked";
  req.headers.emplace("Accept-Encoding", "gzip;q=0");
  EXPECT_FALSE(answer(big, "application/json").has_header("Content-Encoding")) << "refused";
  server.compression.clear();
  req.headers.clear();
  req.headers.emplace("Accept-Encoding", "gzip");
  httplib::Response off = answer(big, "application/json");
  EXPECT_FALSE(off.has_header("Content-Encoding")) << "server.compression: []";
  EXPECT_FALSE(off.has_header("Vary"));
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::server
