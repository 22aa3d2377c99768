#include "upstream/pager.h"

#include <openssl/evp.h>

namespace pb::upstream {
namespace {

std::string sha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

Pager::Pager(const config::PagesConfig& cfg, std::string first_url, std::size_t max_body)
    : cfg_(cfg), first_url_(std::move(first_url)), max_body_(max_body) {
  start();
}

void Pager::start() {
  url_ = first_url_;
  pages_.clear();
  bytes_ = 0;
  more_ = true;
}

std::string Pager::etag() const {
  auto it = kept_.find(url_);
  return it == kept_.end() ? std::string() : it->second.etag;
}

std::string Pager::last_modified() const {
  auto it = kept_.find(url_);
  return it == kept_.end() ? std::string() : it->second.last_modified;
}

std::string Pager::add_page(std::string body, std::string content_type, std::string etag,
                            std::string last_modified, std::optional<std::string> next) {
  bytes_ += body.size();
  if (bytes_ > max_body_) {
    return "pages: the pages together are larger than max_body (" + std::to_string(max_body_) +
           " bytes)";
  }
  Page p;
  p.url = url_;
  p.norm = normalized(url_);
  p.sha = sha256(body);
  if (!etag.empty() || !last_modified.empty()) p.body = std::move(body);
  p.etag = std::move(etag);
  p.last_modified = std::move(last_modified);
  p.content_type = std::move(content_type);
  p.next = std::move(next);
  pages_.push_back(std::move(p));
  return advance(pages_.back().next);
}

std::string Pager::add_unchanged() {
  auto it = kept_.find(url_);
  if (it == kept_.end()) {
    return "pages: page " + std::to_string(index() + 1) +
           " answered 304 Not Modified to an unconditional request";
  }
  bytes_ += it->second.body.size();
  if (bytes_ > max_body_) {
    return "pages: the pages together are larger than max_body (" + std::to_string(max_body_) +
           " bytes)";
  }
  Page p = it->second;
  p.unchanged = true;
  pages_.push_back(std::move(p));
  return advance(pages_.back().next);
}

std::string Pager::advance(const std::optional<std::string>& next) {
  more_ = false;
  if (!next || next->empty()) return "";
  const std::string where = "pages: page " + std::to_string(pages_.size());
  std::optional<std::string> url;
  if (!cfg_.cursor_param.empty()) {
    url = with_query_param(first_url_, cfg_.cursor_param, *next);
  } else {
    url = resolve_reference(url_, *next);
  }
  if (!url) return where + ": the next page's reference is not an http(s) URL";
  const std::string origin = origin_of(*url);
  if (origin.empty() || origin != origin_of(first_url_)) {
    return where + ": the next page is on another origin (" +
           (origin.empty() ? std::string("unknown") : origin) +
           "); pages are read from the stream's own origin only";
  }
  for (std::size_t i = 0; i < pages_.size(); ++i) {
    if (pages_[i].norm == normalized(*url)) {
      return where + ": the next page is page " + std::to_string(i + 1) +
             " again (a loop); the list is refused";
    }
  }
  if (pages_.size() >= cfg_.max) {
    return "pages: more than max (" + std::to_string(cfg_.max) + ") pages";
  }
  url_ = std::move(*url);
  more_ = true;
  return "";
}

std::string Pager::digest() const {
  std::string all;
  for (const Page& p : pages_) all += p.sha;
  return sha256(all);
}

void Pager::commit() {
  std::map<std::string, Page> kept;
  for (Page& p : pages_) {
    if (p.etag.empty() && p.last_modified.empty()) continue;
    p.unchanged = false;
    kept[p.url] = std::move(p);
  }
  kept_ = std::move(kept);
  pages_.clear();
}

void Pager::abandon() {
  pages_.clear();
  bytes_ = 0;
}

void Pager::forget() {
  kept_.clear();
}

}  // namespace pb::upstream
