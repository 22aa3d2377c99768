#include "ingest/csv_reader.h"

#include <algorithm>
#include <numeric>

#include "common/utf8.h"
#include "ingest/decode.h"
#include "json/members.h"

namespace pb::ingest {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

std::string describe(char c) {
  if (c == ' ') return "a space";
  if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
    static const char kHex[] = "0123456789ABCDEF";
    const auto u = static_cast<unsigned char>(c);
    return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 15];
  }
  return std::string("'") + c + "'";
}

// Throws at the first byte that does not begin a valid UTF-8 sequence.
void check_utf8(std::string_view text) {
  std::size_t line = 1;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '\n' || (c == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n'))) ++line;
      ++i;
    } else if (const std::size_t len = utf8_sequence_length(text, i)) {
      i += len;
    } else {
      throw DecodeError("CSV: invalid UTF-8 at byte " + std::to_string(i) + " (line " +
                        std::to_string(line) + ")");
    }
  }
}

}  // namespace

CsvReader::CsvReader(std::string_view text, const config::CsvOptions& options)
    : text_(text), delimiter_(options.delimiter), quote_(options.quote) {
  if (text_.substr(0, kBom.size()) == kBom) pos_ = line_start_ = kBom.size();
}

std::string CsvReader::at(std::size_t line, std::size_t column) {
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

bool CsvReader::next(std::vector<std::string_view>& fields) {
  fields.clear();
  spans_.clear();
  unescaped_.clear();
  const std::size_t n = text_.size();
  // Blank lines are not records.
  while (pos_ < n && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
    if (text_[pos_] == '\r' && pos_ + 1 < n && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
    line_start_ = pos_;
  }
  if (pos_ >= n) return false;
  ++record_;
  record_line_ = line_;
  for (;;) {
    if (pos_ < n && text_[pos_] == quote_) {
      pos_ = read_quoted(pos_ - line_start_ + 1);
    } else {
      const std::size_t start = pos_;
      while (pos_ < n) {
        const char c = text_[pos_];
        if (c == delimiter_ || c == '\n' || c == '\r') break;
        ++pos_;
      }
      spans_.push_back({false, start, pos_ - start});
    }
    if (pos_ >= n) break;
    const char c = text_[pos_++];
    if (c == delimiter_) continue;
    if (c == '\r' && pos_ < n && text_[pos_] == '\n') ++pos_;
    ++line_;
    line_start_ = pos_;
    break;
  }
  fields.reserve(spans_.size());
  for (const Span& s : spans_) {
    fields.push_back(s.unescaped ? std::string_view(unescaped_).substr(s.begin, s.size)
                                 : text_.substr(s.begin, s.size));
  }
  return true;
}

// pos_ is at the opening quote; returns the offset after the closing one.
std::size_t CsvReader::read_quoted(std::size_t field_col) {
  const std::size_t n = text_.size();
  const std::size_t open_line = line_;
  const std::size_t begin = pos_ + 1;
  std::size_t p = begin;
  std::size_t segment = begin;  // start of the text not yet copied (escaped fields)
  bool escaped = false;
  std::size_t escaped_begin = 0;
  for (;;) {
    if (p >= n) {
      throw DecodeError("CSV row " + std::to_string(record_) + ": the quoted field opened at " +
                        at(open_line, field_col) + " is never closed");
    }
    const char c = text_[p];
    if (c == quote_) {
      if (p + 1 < n && text_[p + 1] == quote_) {
        if (!escaped) {
          escaped = true;
          escaped_begin = unescaped_.size();
        }
        unescaped_.append(text_.data() + segment, p + 1 - segment);
        p += 2;
        segment = p;
        continue;
      }
      break;
    }
    ++p;
    if (c == '\n' || (c == '\r' && (p >= n || text_[p] != '\n'))) {
      ++line_;
      line_start_ = p;
    }
  }
  if (escaped) {
    unescaped_.append(text_.data() + segment, p - segment);
    spans_.push_back({true, escaped_begin, unescaped_.size() - escaped_begin});
  } else {
    spans_.push_back({false, begin, p - begin});
  }
  ++p;  // the closing quote
  if (p < n) {
    const char c = text_[p];
    if (c != delimiter_ && c != '\n' && c != '\r') {
      throw DecodeError("CSV row " + std::to_string(record_) + ": " + describe(c) +
                        " after a closing quote at " + at(line_, p - line_start_ + 1) +
                        " (expected the delimiter or a line break; a quote inside a quoted "
                        "field is written twice)");
    }
  }
  return p;
}

json::Json read_csv(std::string_view text, const config::CsvOptions& options) {
  json::Json out = json::Json::array();
  auto& rows = out.get_ref<json::Json::array_t&>();
  check_utf8(text);
  CsvReader reader(text, options);
  std::vector<std::string_view> fields;
  if (!options.header) {
    while (reader.next(fields)) {
      json::Json row = json::Json::array();
      auto& cells = row.get_ref<json::Json::array_t&>();
      cells.reserve(fields.size());
      for (std::string_view f : fields) cells.emplace_back(std::string(f));
      rows.push_back(std::move(row));
    }
    return out;
  }
  if (!reader.next(fields)) return out;
  const std::vector<std::string> names(fields.begin(), fields.end());
  const std::string where = " (line " + std::to_string(reader.line()) + ")";
  std::vector<std::size_t> order(names.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return names[a] < names[b]; });
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) {
      throw DecodeError("CSV header" + where + ": column " + std::to_string(i + 1) +
                        " has no name (every column needs one with header: true)");
    }
  }
  for (std::size_t i = 1; i < order.size(); ++i) {
    if (names[order[i]] == names[order[i - 1]]) {
      throw DecodeError("CSV header" + where + ": columns " + std::to_string(order[i - 1] + 1) +
                        " and " + std::to_string(order[i] + 1) + " have the same name");
    }
  }
  json::MemberList members;
  members.reserve(names.size());
  while (reader.next(fields)) {
    if (fields.size() != names.size()) {
      throw DecodeError("CSV row " + std::to_string(reader.record()) + " (line " +
                        std::to_string(reader.line()) + ") has " + std::to_string(fields.size()) +
                        " field" + (fields.size() == 1 ? "" : "s") + ", the header has " +
                        std::to_string(names.size()));
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      members.emplace_back(names[i], json::Json(std::string(fields[i])));
    }
    rows.emplace_back();
    json::assign_members(rows.back(), members);
  }
  return out;
}

}  // namespace pb::ingest
