// QueueSummary: one durable queue (a persistent session queue/<owner>/<name>) as the admin API and
// `hydrant queue list` show it. Filled by each host's queue monitor once a second.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hydrant::metrics {

// One queue as the admin API lists it.
struct QueueSummary {
  std::string client_id;
  std::string owner;
  bool connected = false;
  size_t queued = 0;
  size_t inflight = 0;
  size_t limit = 0;
  bool warning = false;
  bool unbounded = false;
  int64_t full_since = 0;  // unix seconds at which it reached its limit; 0 = not full
  double rate = 0;         // messages routed to it per second, smoothed over recent sweeps
  std::vector<std::string> bindings;  // its subscriptions' filters
};

}  // namespace hydrant::metrics
