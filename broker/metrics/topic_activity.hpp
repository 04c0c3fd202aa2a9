// TopicActivity: messages and bytes per topic prefix, for the HTTP API's list of active
// exchanges with their rates and last publish time. The prefix of `exchange/<owner>/<name>/...`
// is `exchange/<owner>/<name>` (an exchange), where <name> has as many levels as the exchange
// registered for the topic (`v1/change-merged` when declared so, else one); of any other topic,
// its first level; `$` topics are not counted. Each session host records its own publishes (one uncontended lock per
// publish, no allocation for a known prefix); the API merges the hosts' snapshots.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hydrant::metrics {

// Messages of the last 10 minutes in 20-s buckets, for a sparkline.
inline constexpr int kRecentBucketSeconds = 20;
inline constexpr int kRecentBuckets = 30;

struct PrefixStats {
  std::string prefix;  // "exchange/hgpushes/v1" or "bench"
  bool exchange = false;
  uint64_t messages = 0;
  uint64_t bytes = 0;       // payload bytes
  double messages_per_s = 0;  // over the last 60 s
  double bytes_per_s = 0;
  std::chrono::system_clock::time_point last_publish{};
  // Of messages and bytes, what history held at start (seed()): /metrics' counters leave it
  // out, so that a restart does not look like a burst of traffic.
  uint64_t seeded_messages = 0;
  uint64_t seeded_bytes = 0;
  // Messages per 20-s bucket, oldest first; the last bucket is the one of `recent_last_slot`
  // (steady seconds / kRecentBucketSeconds at the snapshot), so merge() can line hosts up.
  std::array<uint32_t, kRecentBuckets> recent{};
  int64_t recent_last_slot = 0;
};

class TopicActivity {
 public:
  using Steady = std::chrono::steady_clock::time_point;
  using Wall = std::chrono::system_clock::time_point;
  static constexpr const char* kOther = "(other)";

  explicit TopicActivity(size_t max_prefixes = 10000) : max_prefixes_(max_prefixes) {}

  // `exchange_levels`: the levels of the exchange's name (pulse::ExchangeRegistry::name_levels).
  void record(std::string_view topic, size_t payload_bytes, Steady now, Wall wall, size_t exchange_levels = 1);
  // Counts what history kept of an exchange before this start (no rate: that was then).
  void seed(std::string_view exchange, uint64_t messages, uint64_t bytes, Wall last_publish);
  std::vector<PrefixStats> snapshot(Steady now) const;

  // The prefix a topic counts under; empty for topics not counted ($...).
  static std::string_view prefix_of(std::string_view topic, bool& exchange, size_t exchange_levels = 1);
  // Sums snapshots of several hosts by prefix (the recent buckets by slot, so snapshots taken
  // in different 20-s slots still line up).
  static std::vector<PrefixStats> merge(const std::vector<std::vector<PrefixStats>>& parts);

 private:
  static constexpr int kWindow = 60;  // seconds of rate history
  struct Entry {
    bool exchange = false;
    uint64_t messages = 0;
    uint64_t bytes = 0;
    uint64_t seeded_messages = 0;
    uint64_t seeded_bytes = 0;
    Wall last_publish{};
    std::array<int64_t, kWindow> second{};  // which second each bucket holds
    std::array<uint32_t, kWindow> bucket_messages{};
    std::array<uint64_t, kWindow> bucket_bytes{};
    // The sparkline's ring: 10 minutes in 20-s buckets. Apart from the per-second ring because
    // stretching that to 600 slots would cost 12 KB per prefix (10000 prefixes: 120 MB) and a
    // 600-slot walk per snapshot; 30 slots of (slot id, count) cost 240 bytes and, like the
    // per-second ring, one compare and one add per publish, no allocation.
    std::array<uint32_t, kRecentBuckets> recent_slot{};  // which 20-s slot each bucket holds
    std::array<uint32_t, kRecentBuckets> recent_count{};
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  Entry* find_or_add(std::string_view prefix, bool exchange);

  const size_t max_prefixes_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
};

}  // namespace hydrant::metrics
