#include "metrics/topic_activity.hpp"

#include <algorithm>

namespace hydrant::metrics {

namespace {

int64_t second_of(TopicActivity::Steady t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// The 20-s slot of a steady second; as uint32 it wraps only after 2700 years of uptime.
uint32_t recent_slot_of(int64_t second) {
  return static_cast<uint32_t>(second / kRecentBucketSeconds);
}

// Adds `from`'s recent buckets into `into`'s by slot: the newer snapshot's slots win the
// window, buckets older than it fall out.
void add_recent(PrefixStats& into, const PrefixStats& from) {
  if (from.recent_last_slot > into.recent_last_slot) {
    const int64_t shift = from.recent_last_slot - into.recent_last_slot;
    std::array<uint32_t, kRecentBuckets> moved{};
    for (int64_t i = shift; i < kRecentBuckets; ++i) {
      moved[static_cast<size_t>(i - shift)] = into.recent[static_cast<size_t>(i)];
    }
    into.recent = moved;
    into.recent_last_slot = from.recent_last_slot;
  }
  const int64_t behind = into.recent_last_slot - from.recent_last_slot;
  for (int64_t i = behind; i < kRecentBuckets; ++i) {
    into.recent[static_cast<size_t>(i - behind)] += from.recent[static_cast<size_t>(i)];
  }
}

}  // namespace

std::string_view TopicActivity::prefix_of(std::string_view topic, bool& exchange, size_t exchange_levels) {
  exchange = false;
  if (topic.empty() || topic.front() == '$') return {};
  const size_t first = topic.find('/');
  if (topic.substr(0, first) == "exchange" && first != std::string_view::npos) {
    const size_t second = topic.find('/', first + 1);
    if (second != std::string_view::npos) {
      size_t end = topic.find('/', second + 1);
      exchange = end != second + 1 && second != first + 1;
      for (size_t level = 1; exchange && level < exchange_levels && end != std::string_view::npos; ++level) {
        end = topic.find('/', end + 1);
      }
      if (exchange) return topic.substr(0, end);
    }
  }
  return topic.substr(0, first);
}

TopicActivity::Entry* TopicActivity::find_or_add(std::string_view prefix, bool exchange) {
  if (auto it = entries_.find(prefix); it != entries_.end()) return &it->second;
  if (entries_.size() >= max_prefixes_) {
    // Full: everything new is counted together, so the table stays bounded.
    prefix = kOther;
    exchange = false;
    if (auto it = entries_.find(prefix); it != entries_.end()) return &it->second;
  }
  auto [it, added] = entries_.try_emplace(std::string(prefix));
  it->second.exchange = exchange;
  return &it->second;
}

void TopicActivity::seed(std::string_view exchange, uint64_t messages, uint64_t bytes, Wall last_publish) {
  std::lock_guard lock(mutex_);
  Entry* e = find_or_add(exchange, true);
  e->messages += messages;
  e->bytes += bytes;
  e->seeded_messages += messages;
  e->seeded_bytes += bytes;
  e->last_publish = std::max(e->last_publish, last_publish);
}

void TopicActivity::record(std::string_view topic, size_t payload_bytes, Steady now, Wall wall,
                           size_t exchange_levels) {
  bool exchange = false;
  const std::string_view prefix = prefix_of(topic, exchange, exchange_levels);
  if (prefix.empty() && (topic.empty() || topic.front() == '$')) return;
  const int64_t sec = second_of(now);
  std::lock_guard lock(mutex_);
  Entry* e = find_or_add(prefix, exchange);
  e->messages += 1;
  e->bytes += payload_bytes;
  e->last_publish = wall;
  const size_t slot = static_cast<size_t>(sec % kWindow);
  if (e->second[slot] != sec) {
    e->second[slot] = sec;
    e->bucket_messages[slot] = 0;
    e->bucket_bytes[slot] = 0;
  }
  e->bucket_messages[slot] += 1;
  e->bucket_bytes[slot] += payload_bytes;
  const uint32_t recent_slot = recent_slot_of(sec);
  const size_t recent_index = recent_slot % kRecentBuckets;
  if (e->recent_slot[recent_index] != recent_slot) {
    e->recent_slot[recent_index] = recent_slot;
    e->recent_count[recent_index] = 0;
  }
  e->recent_count[recent_index] += 1;
}

std::vector<PrefixStats> TopicActivity::snapshot(Steady now) const {
  const int64_t sec = second_of(now);
  std::vector<PrefixStats> out;
  std::lock_guard lock(mutex_);
  out.reserve(entries_.size());
  for (const auto& [prefix, e] : entries_) {
    PrefixStats s;
    s.prefix = prefix;
    s.exchange = e.exchange;
    s.messages = e.messages;
    s.bytes = e.bytes;
    s.seeded_messages = e.seeded_messages;
    s.seeded_bytes = e.seeded_bytes;
    s.last_publish = e.last_publish;
    uint64_t m = 0;
    uint64_t b = 0;
    for (int i = 0; i < kWindow; ++i) {
      if (sec - e.second[i] < kWindow && e.second[i] <= sec) {
        m += e.bucket_messages[i];
        b += e.bucket_bytes[i];
      }
    }
    s.messages_per_s = static_cast<double>(m) / kWindow;
    s.bytes_per_s = static_cast<double>(b) / kWindow;
    const uint32_t last_slot = recent_slot_of(sec);
    s.recent_last_slot = last_slot;
    for (int i = 0; i < kRecentBuckets; ++i) {
      const int64_t slot = int64_t{last_slot} - (kRecentBuckets - 1) + i;
      if (slot < 0) continue;  // before the clock's start
      const size_t index = static_cast<size_t>(slot) % kRecentBuckets;
      if (e.recent_slot[index] == slot) s.recent[static_cast<size_t>(i)] = e.recent_count[index];
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<PrefixStats> TopicActivity::merge(const std::vector<std::vector<PrefixStats>>& parts) {
  std::unordered_map<std::string, PrefixStats> by_prefix;
  for (const auto& part : parts) {
    for (const auto& s : part) {
      auto [it, added] = by_prefix.try_emplace(s.prefix, s);
      if (added) continue;
      PrefixStats& t = it->second;
      add_recent(t, s);
      t.messages += s.messages;
      t.bytes += s.bytes;
      t.seeded_messages += s.seeded_messages;
      t.seeded_bytes += s.seeded_bytes;
      t.messages_per_s += s.messages_per_s;
      t.bytes_per_s += s.bytes_per_s;
      t.last_publish = std::max(t.last_publish, s.last_publish);
    }
  }
  std::vector<PrefixStats> out;
  out.reserve(by_prefix.size());
  for (auto& [prefix, s] : by_prefix) out.push_back(std::move(s));
  std::sort(out.begin(), out.end(),
            [](const PrefixStats& a, const PrefixStats& b) { return a.last_publish > b.last_publish; });
  return out;
}

}  // namespace hydrant::metrics
