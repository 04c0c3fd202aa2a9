// $SYS topic names and values. See sys_topics.hpp.
#include "metrics/sys_topics.hpp"

namespace hydrant::metrics {

std::vector<std::pair<std::string, std::string>> sys_topics(const Snapshot& s) {
  auto n = [](auto v) { return std::to_string(v); };
  return {
      {"$SYS/broker/version", "hydrant " + s.version},
      {"$SYS/broker/uptime", n(s.uptime_seconds) + " seconds"},
      {"$SYS/broker/clients/connected", n(s.clients_connected)},
      {"$SYS/broker/clients/total", n(s.clients_total)},
      {"$SYS/broker/connections/total", n(s.connections_total)},
      {"$SYS/broker/messages/received", n(s.messages_received)},
      {"$SYS/broker/messages/sent", n(s.messages_sent)},
      {"$SYS/broker/messages/dropped", n(s.messages_dropped)},
      {"$SYS/broker/bytes/received", n(s.bytes_received)},
      {"$SYS/broker/bytes/sent", n(s.bytes_sent)},
      {"$SYS/broker/subscriptions/count", n(s.subscriptions)},
      {"$SYS/broker/retained messages/count", n(s.retained)},
  };
}

void add_by_transport(Snapshot& s, const Counters& c) {
  for (size_t i = 0; i < kTransports; ++i) {
    s.by_transport[i].connected += c.by_transport[i].connected.get();
    s.by_transport[i].deliveries += c.by_transport[i].deliveries.get();
  }
}

}  // namespace hydrant::metrics
