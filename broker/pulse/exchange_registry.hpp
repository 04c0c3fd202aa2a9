// ExchangeRegistry: the exchanges the broker knows, so that the split of a topic into exchange
// and routing key is known (README.md, "Access: Pulse on MQTT"). An exchange is registered by its owner's first
// publish (its name is then the first level after exchange/<owner>/) or through the admin API,
// which may register names of several levels (`v1/change-merged`). The longest registered name
// that prefixes a topic wins. Thread-safe; the hot path asks it only on a host's first publish
// under a new exchange and for CC'd routing keys.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hydrant::pulse {

class ExchangeRegistry {
 public:
  explicit ExchangeRegistry(size_t max_per_owner = 1000) : max_per_owner_(max_per_owner) {}

  struct Exchange {
    std::string owner;
    std::string name;      // below exchange/<owner>/
    int64_t created = 0;   // unix seconds
    bool declared = false; // through the API (kept across restarts) rather than a first publish
  };

  // For a topic under exchange/<owner>/<name...>: registers the first level as an exchange when
  // no registered name covers the topic. False when that would pass the owner's max_per_owner
  // exchanges (the publish is refused); true otherwise, also for a topic outside exchange/.
  bool note_publish(std::string_view topic, int64_t now);
  // The levels of the registered exchange covering `topic` (1 when none does yet).
  size_t name_levels(std::string_view topic) const;
  // Whether any registered name has more than one level: until one is declared, every name
  // has one, and the hot path need not ask name_levels() (no lock per publish).
  bool has_multi_level() const { return multi_level_.load(std::memory_order_relaxed) > 0; }

  // Registers (declares) an exchange; false when it exists or the owner has too many.
  bool declare(std::string_view owner, std::string_view name, int64_t now);
  bool remove(std::string_view owner, std::string_view name);
  std::vector<Exchange> list() const;

 private:
  // Under exchange/<owner>/, the registered name that covers `rest` (the levels after the
  // owner), longest first; nullptr when none.
  const Exchange* covering(std::string_view owner, std::string_view rest) const;

  size_t max_per_owner_;
  std::atomic<size_t> multi_level_{0};  // registered names of more than one level
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::vector<Exchange>, std::less<>> by_owner_;  // names sorted longest first
};

}  // namespace hydrant::pulse
