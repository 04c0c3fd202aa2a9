// recover_exchanges; see exchange_recovery.hpp.
#include "core/exchange_recovery.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <string>

namespace hydrant::core {

namespace {

using Wall = std::chrono::system_clock::time_point;

Wall wall_of(int64_t unix_ms) { return Wall(std::chrono::milliseconds(unix_ms)); }

struct Traffic {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  int64_t last_ms = 0;
};

// A first-level exchange's history split among it and the declared names below it: read
// from the log, only for exchanges that have such names, so a restart reads nothing else.
std::map<std::string, Traffic, std::less<>> split_by_declared(const store::ExchangeLog& log,
                                                                const std::string& exchange,
                                                                const pulse::ExchangeRegistry& registry) {
  std::map<std::string, Traffic, std::less<>> below;
  store::HistoryQuery q;
  q.filter = exchange + "/#";
  q.for_session = true;  // the broker's own read, not rate-limited
  q.limit = 1000;
  q.after = 0;
  for (;;) {
    const store::HistoryPage page = log.read(q);
    for (const auto& m : page.messages) {
      bool is_exchange = false;
      const std::string_view prefix =
          metrics::TopicActivity::prefix_of(m.msg->topic(), is_exchange, registry.name_levels(m.msg->topic()));
      if (!is_exchange) continue;
      Traffic& t = below[std::string(prefix)];
      ++t.messages;
      t.bytes += m.msg->payload().size();
      t.last_ms = std::max(t.last_ms, m.time_ms);
    }
    if (!page.more || page.scanned_to <= *q.after) break;
    q.after = page.scanned_to;
  }
  return below;
}

bool has_declared_below(const pulse::ExchangeRegistry& registry, std::string_view exchange) {
  // exchange/<owner>/<name>: a registered <name>/... of the same owner.
  const size_t owner_at = std::string_view("exchange/").size();
  const size_t slash = exchange.find('/', owner_at);
  const std::string_view owner = exchange.substr(owner_at, slash - owner_at);
  const std::string_view name = exchange.substr(slash + 1);
  for (const auto& e : registry.list()) {
    if (e.owner == owner && e.name.size() > name.size() && std::string_view(e.name).starts_with(name) &&
        e.name[name.size()] == '/') {
      return true;
    }
  }
  return false;
}

}  // namespace

size_t recover_exchanges(const store::ExchangeLog& log, pulse::ExchangeRegistry& registry,
                         metrics::TopicActivity& activity) {
  const std::vector<store::KeptExchange> kept = log.kept_exchanges();
  for (const auto& k : kept) {
    registry.note_publish(k.exchange, k.first_ms / 1000);
    Traffic own{k.messages, k.payload_bytes, k.last_ms};
    if (registry.has_multi_level() && has_declared_below(registry, k.exchange)) {
      own.last_ms = 0;
      for (const auto& [prefix, t] : split_by_declared(log, k.exchange, registry)) {
        if (prefix == k.exchange) {
          own.last_ms = t.last_ms;
          continue;
        }
        activity.seed(prefix, t.messages, t.bytes, wall_of(t.last_ms));
        own.messages -= std::min(own.messages, t.messages);
        own.bytes -= std::min(own.bytes, t.bytes);
      }
      if (own.last_ms == 0) own.last_ms = k.last_ms;  // only messages on the exchange's own topic
    }
    if (own.messages) activity.seed(k.exchange, own.messages, own.bytes, wall_of(own.last_ms));
  }
  return kept.size();
}

}  // namespace hydrant::core
