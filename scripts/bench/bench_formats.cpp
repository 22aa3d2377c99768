#include "bench_formats.h"

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "diff/filter.h"
#include "ingest/csv_reader.h"
#include "ingest/decode.h"
#include "json/pointer.h"

namespace pb::bench {
namespace {

double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Timing {
  double wall_ms = 0;  // median
  double cpu_ms = 0;   // mean
};

Timing measure(int runs, const std::function<std::size_t()>& run) {
  std::size_t sink = run();  // warm-up
  std::vector<double> times;
  const double cpu0 = cpu_ms();
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    sink += run();
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const double cpu = (cpu_ms() - cpu0) / runs;
  if (sink == 0) std::fprintf(stderr, "(empty documents)\n");
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], cpu};
}

// The same rows in every format, until the text reaches `bytes`.
template <typename Row>
std::string build(std::size_t bytes, const std::string& head, const std::string& tail, Row row) {
  std::string out = head;
  char buf[256];
  for (std::size_t i = 0; out.size() + tail.size() < bytes; ++i) {
    const int len = row(buf, sizeof buf, i);
    out.append(buf, static_cast<std::size_t>(len));
  }
  return out + tail;
}

std::string json_doc(std::size_t bytes) {
  std::string out = build(bytes, "{\"orders\":[", "]}", [](char* b, std::size_t n, std::size_t i) {
    return std::snprintf(
        b, n, "%s{\"id\":%zu,\"name\":\"item %zu, size M\",\"price\":%zu.50,\"open\":%s}",
        i ? "," : "", i, i, i % 1000, i % 2 ? "true" : "false");
  });
  return out;
}

std::string xml_doc(std::size_t bytes) {
  return build(bytes, "<?xml version=\"1.0\"?>\n<orders>\n", "</orders>\n",
               [](char* b, std::size_t n, std::size_t i) {
                 return std::snprintf(b, n,
                                      "<order id=\"%zu\"><name>item %zu, size M</name><price>%zu.50"
                                      "</price><open>%s</open></order>\n",
                                      i, i, i % 1000, i % 2 ? "true" : "false");
               });
}

std::string csv_doc(std::size_t bytes) {
  return build(bytes, "id,name,price,open\r\n", "", [](char* b, std::size_t n, std::size_t i) {
    return std::snprintf(b, n, "%zu,\"item %zu, size M\",%zu.50,%s\r\n", i, i, i % 1000,
                         i % 2 ? "true" : "false");
  });
}

std::string html_doc(std::size_t bytes) {
  return build(bytes,
               "<!DOCTYPE html>\n<html><head><title>Orders</title></head><body>\n"
               "<table id=\"orders\">\n<tr><th>Id</th><th>Name</th><th>Price</th><th>Open</th>"
               "</tr>\n",
               "</table>\n</body></html>\n", [](char* b, std::size_t n, std::size_t i) {
                 return std::snprintf(b, n,
                                      "<tr><td>%zu</td><td>item %zu, size M</td><td>%zu.50</td>"
                                      "<td>%s</td></tr>\n",
                                      i, i, i % 1000, i % 2 ? "yes" : "no");
               });
}

void print_row(const char* format, const std::string& text, const std::string& ours_text,
               const Timing* ours, const char* floor_name, const Timing& floor) {
  const double mb = static_cast<double>(text.size()) / 1e6;
  std::printf("| %s | %.2f | ", format, static_cast<double>(text.size()) / (1 << 20));
  if (ours != nullptr) {
    std::printf("%.1f | %.0f | %.1f | ", ours->wall_ms, mb * 1e3 / ours->wall_ms, ours->cpu_ms);
  } else {
    std::printf("%s | | | ", ours_text.c_str());
  }
  std::printf("%s | %.1f | %.0f | ", floor_name, floor.wall_ms, mb * 1e3 / floor.wall_ms);
  if (ours != nullptr) {
    std::printf("%.2f |\n", ours->wall_ms / floor.wall_ms);
  } else {
    std::printf("|\n");
  }
  std::fflush(stdout);
}

// Decode + select as ingest::Ingest does for a poll; the number of elements.
std::size_t decode_select(const config::StreamConfig& cfg, const std::string& text,
                          const std::string& content_type) {
  json::Json doc = ingest::decode(cfg, text, content_type);
  const json::Pointer select =
      cfg.select.empty() ? json::Pointer() : json::Pointer::parse(cfg.select);
  return diff::prepare(std::move(doc), select, {}).size();
}

void row(const char* format, const config::StreamConfig& cfg, const std::string& text,
         const std::string& content_type, const char* floor_name,
         const std::function<std::size_t()>& floor_run, int runs) {
  std::string failure;
  try {
    decode_select(cfg, text, content_type);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  const Timing floor = measure(runs, floor_run);
  if (!failure.empty()) {
    const bool missing = failure.find("not built") != std::string::npos;
    print_row(format, text, missing ? "not built" : "error: " + failure, nullptr, floor_name,
              floor);
    return;
  }
  const Timing ours = measure(runs, [&] { return decode_select(cfg, text, content_type); });
  print_row(format, text, "", &ours, floor_name, floor);
}

}  // namespace

void format_table(std::size_t bytes, int runs) {
  xmlInitParser();
  std::printf(
      "\nOne document of each format (the same rows: id, name with a comma, price, open) "
      "through ingest::decode and select, beside the bare parse; median of %d runs, CPU "
      "per poll averaged.\n\n",
      runs);
  std::printf(
      "| format | MiB | decode + select ms | MB/s | CPU ms per poll | floor | floor ms | "
      "floor MB/s | ratio to floor |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |\n");

  config::StreamConfig json_cfg;
  json_cfg.select = "/orders";
  const std::string json_text = json_doc(bytes);
  row(
      "JSON", json_cfg, json_text, "application/json", "nlohmann::json::parse",
      [&] { return nlohmann::json::parse(json_text).size(); }, runs);

  config::StreamConfig xml_cfg;
  xml_cfg.parse = config::ParseMode::kXml;
  xml_cfg.select = "/orders/order";
  const std::string xml_text = xml_doc(bytes);
  row(
      "XML", xml_cfg, xml_text, "application/xml", "xmlReadMemory",
      [&] {
        xmlDoc* d = xmlReadMemory(xml_text.data(), static_cast<int>(xml_text.size()), nullptr,
                                  nullptr, XML_PARSE_NONET);
        const std::size_t ok = d != nullptr ? 1 : 0;
        xmlFreeDoc(d);
        return ok;
      },
      runs);

  config::StreamConfig csv_cfg;
  csv_cfg.parse = config::ParseMode::kCsv;
  const std::string csv_text = csv_doc(bytes);
  row(
      "CSV", csv_cfg, csv_text, "text/csv", "CsvReader alone",
      [&] {
        ingest::CsvReader reader(csv_text, csv_cfg.csv);
        std::vector<std::string_view> fields;
        std::size_t n = 0;
        while (reader.next(fields)) n += fields.size();
        return n;
      },
      runs);

  config::StreamConfig html_cfg;
  html_cfg.parse = config::ParseMode::kHtml;
  html_cfg.html.rows = "//table[@id='orders']/tr[td]";
  html_cfg.html.fields = {
      {"id", "td[1]"}, {"name", "td[2]"}, {"price", "td[3]"}, {"open", "td[4]"}};
  const std::string html_text = html_doc(bytes);
  row(
      "HTML", html_cfg, html_text, "text/html; charset=utf-8", "htmlReadMemory",
      [&] {
        xmlDoc* d =
            htmlReadMemory(html_text.data(), static_cast<int>(html_text.size()), nullptr, "utf-8",
                           HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                               HTML_PARSE_RECOVER | HTML_PARSE_COMPACT);
        const std::size_t ok = d != nullptr ? 1 : 0;
        xmlFreeDoc(d);
        return ok;
      },
      runs);
}

}  // namespace pb::bench
