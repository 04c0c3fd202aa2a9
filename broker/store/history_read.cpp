// MessageStore reads: history pages by position, time or "the newest N", and the recovery scan.
// Candidates come from the per-exchange index under the lock; the messages themselves from the
// in-memory newest ones or, for older ones, from the log after the lock is released, so that
// a read never holds up an append.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

#include "store/message_store.hpp"
#include "topics/topic.hpp"

namespace hydrant::store {

namespace {

// Whether a filter can match topics of the exchange keyed `key` (its first three levels).
bool filter_reaches(std::string_view filter, std::string_view key) {
  for (;;) {
    const size_t fs = filter.find('/');
    const size_t ks = key.find('/');
    const std::string_view f = filter.substr(0, fs), k = key.substr(0, ks);
    if (f == "#") return true;
    if (f != "+" && f != k) return false;
    if (ks == std::string_view::npos) return true;  // the key ends: match_filter decides
    if (fs == std::string_view::npos) return false;
    filter.remove_prefix(fs + 1);
    key.remove_prefix(ks + 1);
  }
}

std::optional<uint64_t> whole_number(std::string_view text) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return n;
}

std::optional<int64_t> parse_iso8601_ms(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.mmm]Z
  if (t.size() < 20 || t.back() != 'Z') return std::nullopt;
  int y, mo, d, h, mi, s;
  char tail[8] = {};
  const std::string text(t);
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%7s", &y, &mo, &d, &h, &mi, &s, tail) != 7) {
    return std::nullopt;
  }
  int ms = 0;
  const std::string_view rest(tail);
  if (rest.size() == 5 && rest[0] == '.' && rest[4] == 'Z') {
    auto v = whole_number(rest.substr(1, 3));
    if (!v) return std::nullopt;
    ms = static_cast<int>(*v);
  } else if (rest != "Z") {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  const auto days = std::chrono::sys_days(ymd).time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(days).count() +
         ((h * 60 + mi) * 60 + s) * 1000ll + ms;
}

}  // namespace

bool parse_since(std::string_view text, HistoryQuery& q, bool allow_last) {
  if (auto pos = MessageStore::parse_position(text)) {
    q.epoch = pos->first;
    q.after = pos->second;
    return true;
  }
  if (allow_last && text.starts_with("last:")) {
    auto n = whole_number(text.substr(5));
    if (!n || *n == 0) return false;
    q.last = *n;
    return true;
  }
  if (auto ms = whole_number(text)) {
    q.since_ms = static_cast<int64_t>(*ms);
    return true;
  }
  if (auto ms = parse_iso8601_ms(text)) {
    q.since_ms = *ms;
    return true;
  }
  return false;
}

// Under mutex_: the index entries that may answer `q` (at most `budget`), in sequence order, with
// the messages still in memory filled in; the page is marked incomplete where another epoch or
// retention leaves a gap. `truncated`: more entries match than one page looks at. `last`: the
// newest sequence when the read began.
std::vector<StoredMessage> MessageStore::candidates_for(const HistoryQuery& q, size_t budget,
                                                        HistoryPage& page, uint64_t& last,
                                                        bool& truncated) const {
  // A plain flag and value rather than an optional: GCC 12 mistakes the optional for unset.
  bool has_after = q.after.has_value();
  const uint64_t after = q.after.value_or(0);
  std::vector<IndexEntry> candidates;
  std::vector<StoredMessage> found;
  {
    std::lock_guard lock(mutex_);
    last = log_->next_sequence() - 1;
    if (q.epoch && *q.epoch != epoch_) {
      page.complete = false;
      page.gap = "the position is from another epoch: the log it came from is gone";
      has_after = false;
    }
    for (const auto& [key, index] : exchanges_) {
      if (!filter_reaches(q.filter, key)) continue;
      const auto& e = index.entries;
      if (page.complete && index.trimmed_to != 0 &&
          ((has_after && after < index.trimmed_to) || (q.since_ms && *q.since_ms <= index.trimmed_time_ms))) {
        page.complete = false;
        page.gap = "messages from that point on are no longer kept (history retention)";
      }
      auto from = e.begin();
      if (q.last) {
        from = e.end() - static_cast<std::ptrdiff_t>(std::min(e.size(), budget));
      } else if (has_after) {
        from = std::upper_bound(e.begin(), e.end(), after,
                                [](uint64_t s, const IndexEntry& x) { return s < x.sequence; });
      } else if (q.since_ms) {
        from = std::lower_bound(e.begin(), e.end(), *q.since_ms,
                                [](const IndexEntry& x, int64_t t) { return x.time_ms < t; });
      }
      const auto n = std::min<size_t>(static_cast<size_t>(e.end() - from), budget);
      candidates.insert(candidates.end(), from, from + static_cast<std::ptrdiff_t>(n));
      if (!q.last && n < static_cast<size_t>(e.end() - from)) truncated = true;
    }
    std::sort(candidates.begin(), candidates.end(),
              [](const IndexEntry& a, const IndexEntry& b) { return a.sequence < b.sequence; });
    if (q.last && candidates.size() > budget) {
      candidates.erase(candidates.begin(), candidates.end() - static_cast<std::ptrdiff_t>(budget));
    } else if (!q.last && candidates.size() > budget) {
      candidates.resize(budget);
      truncated = true;
    }
    // The ones still in memory.
    found.resize(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) {
      found[i].sequence = candidates[i].sequence;
      found[i].time_ms = candidates[i].time_ms;
      if (newest_.empty() || candidates[i].sequence < newest_.front().sequence) continue;
      auto it = std::lower_bound(newest_.begin(), newest_.end(), candidates[i].sequence,
                                 [](const StoredMessage& m, uint64_t s) { return m.sequence < s; });
      if (it != newest_.end() && it->sequence == candidates[i].sequence) found[i].msg = it->msg;
    }
  }
  return found;
}

HistoryPage MessageStore::read(const HistoryQuery& q) const {
  HistoryPage page;
  const size_t limit = std::max<size_t>(1, q.limit);
  const size_t budget = std::max<size_t>(limit * 10, 1000);  // index entries looked at per page
  uint64_t last = 0;
  bool truncated = false;
  std::vector<StoredMessage> found = candidates_for(q, budget, page, last, truncated);
  // The older ones come from the disk, in the order the page needs them and only until it is
  // full: a page of `limit` reads about `limit` records, not every candidate.
  auto load = [&](StoredMessage& f) {
    if (!f.msg) {
      log_->read(f.sequence, 1, [&](const Record& r) {
        if (r.sequence == f.sequence && static_cast<Kind>(r.kind) == Kind::Message) {
          f.msg = decode_message(r.data, r.sequence);
        }
      });
    }
    return f.msg && topics::match_filter(q.filter, f.msg->topic());
  };
  if (q.last) {
    for (auto it = found.rbegin(); it != found.rend() && page.messages.size() < *q.last; ++it) {
      if (load(*it)) page.messages.push_back(std::move(*it));
    }
    std::reverse(page.messages.begin(), page.messages.end());
    page.scanned_to = last;
    return page;
  }
  size_t i = 0;
  for (; i < found.size() && page.messages.size() < limit; ++i) {
    if (load(found[i])) page.messages.push_back(std::move(found[i]));
  }
  if (i < found.size()) {
    page.scanned_to = page.messages.back().sequence;  // full: the next page starts after it
    page.more = true;
  } else if (truncated) {
    page.scanned_to = found.back().sequence;
    page.more = true;
  } else {
    page.scanned_to = last;
  }
  return page;
}

void MessageStore::scan(uint64_t after, const std::function<void(const StoredMessage&)>& visit) const {
  log_->read(after + 1, SIZE_MAX, [&](const Record& r) {
    if (static_cast<Kind>(r.kind) != Kind::Message) return;
    if (auto m = decode_message(r.data, r.sequence)) visit({r.sequence, r.time_ms, std::move(m)});
  });
}

}  // namespace hydrant::store
