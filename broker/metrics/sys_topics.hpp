// $SYS/broker/... statistics: turns a snapshot of the broker's counters into (topic, value)
// pairs, published retained every sys-interval seconds. Pure; the broker does the publishing.
// Topic names follow mosquitto's so that existing dashboards work.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "metrics/counters.hpp"

namespace hydrant::metrics {

// A transport's share of the figures (Transport, counters.hpp).
struct TransportFigures {
  int64_t connected = 0;
  uint64_t deliveries = 0;
};

struct Snapshot {
  std::string version;
  uint64_t uptime_seconds = 0;
  int64_t clients_connected = 0;
  uint64_t clients_total = 0;  // sessions known (connected or not)
  uint64_t connections_total = 0;
  uint64_t messages_received = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_dropped = 0;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t subscriptions = 0;
  uint64_t retained = 0;
  // Access (issue 5).
  uint64_t auth_failures = 0;
  uint64_t publishes_refused = 0;
  uint64_t payloads_over_soft_limit = 0;
  std::array<TransportFigures, kTransports> by_transport{};  // indexed by Transport
};

// Adds one host's per-transport counters to the snapshot (Broker::snapshot, for each host).
void add_by_transport(Snapshot& s, const Counters& c);

std::vector<std::pair<std::string, std::string>> sys_topics(const Snapshot& s);

}  // namespace hydrant::metrics
