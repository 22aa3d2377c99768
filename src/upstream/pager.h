// The pages of a paged list (pages:) as one poll reads them: where the next
// page is (a Link header, a URL in the page, or a cursor added to the
// stream's URL), what is refused (another origin, a page read twice, more
// than `max` pages, more than max_body in all), and each page's validators
// and body from the last complete list, for conditional requests: a page
// answered 304 is the one kept. The poller decodes nothing itself: the
// items and a pointer's next value are the sink's to read.
//
// Threads: owned by one Poller, used by whichever thread runs its current
// step (one at a time).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "upstream/url_reference.h"

namespace pb::upstream {

class Pager {
 public:
  // `first_url`: the stream's URL, parameters expanded.
  Pager(const config::PagesConfig& cfg, std::string first_url, std::size_t max_body);

  // A poll starts at page 0.
  void start();
  // The page to request now, its index and the validators to send.
  const std::string& url() const { return url_; }
  std::size_t index() const { return pages_.size(); }
  std::string etag() const;
  std::string last_modified() const;
  bool link_mode() const { return cfg_.next == "link"; }

  // The current page came with a body. `next`: the raw next reference or
  // cursor (nullopt: the list ends). Returns an error ("" if fine).
  std::string add_page(std::string body, std::string content_type, std::string etag,
                       std::string last_modified, std::optional<std::string> next);
  // The current page was answered 304: the kept page stands. Returns an
  // error ("" if fine).
  std::string add_unchanged();
  // After add_*(): another page is to be read (url() is it).
  bool more() const { return more_; }

  // The list is complete: how many pages, which were 304 (their items are
  // still to be read from body(i)), and a digest of every page's bytes.
  std::size_t count() const { return pages_.size(); }
  bool unchanged(std::size_t i) const { return pages_[i].unchanged; }
  const std::string& body(std::size_t i) const { return pages_[i].body; }
  const std::string& content_type(std::size_t i) const { return pages_[i].content_type; }
  std::string digest() const;

  // The list was taken (published or unchanged): its pages' validators are
  // the ones sent next time.
  void commit();
  // The poll failed: nothing of it is kept.
  void abandon();
  // The next poll is unconditional.
  void forget();

 private:
  struct Page {
    std::string url;
    std::string norm;  // url as libcurl normalizes it, to recognize a loop
    std::string etag;
    std::string last_modified;
    std::string body;  // kept for the next poll only with a validator
    std::string content_type;
    std::optional<std::string> next;  // the raw next reference or cursor
    std::string sha;                  // SHA-256 of the body
    bool unchanged = false;
  };
  std::string advance(const std::optional<std::string>& next);

  const config::PagesConfig& cfg_;
  const std::string first_url_;
  const std::size_t max_body_;
  std::string url_;
  std::vector<Page> pages_;
  std::size_t bytes_ = 0;
  bool more_ = false;
  std::map<std::string, Page> kept_;  // url -> page of the last complete list
};

}  // namespace pb::upstream
