// $SYS topic names and values (metrics/sys_topics.hpp).
#include <doctest.h>

#include <map>

#include "metrics/sys_topics.hpp"

using hydrant::metrics::Snapshot;
using hydrant::metrics::sys_topics;

TEST_CASE("every statistic the issue names has its $SYS topic, with the snapshot's value") {
  Snapshot s;
  s.version = "1.2.3";
  s.uptime_seconds = 42;
  s.clients_connected = 3;
  s.clients_total = 5;
  s.connections_total = 9;
  s.messages_received = 100;
  s.messages_sent = 250;
  s.messages_dropped = 7;
  s.bytes_received = 1000;
  s.bytes_sent = 2500;
  s.subscriptions = 11;
  s.retained = 4;
  std::map<std::string, std::string> got;
  for (auto& [topic, value] : sys_topics(s)) {
    CHECK(topic.starts_with("$SYS/broker/"));
    CHECK_MESSAGE(got.emplace(topic, value).second, topic);  // each topic once
  }
  CHECK(got["$SYS/broker/version"] == "hydrant 1.2.3");
  CHECK(got["$SYS/broker/uptime"] == "42 seconds");
  CHECK(got["$SYS/broker/clients/connected"] == "3");
  CHECK(got["$SYS/broker/clients/total"] == "5");
  CHECK(got["$SYS/broker/connections/total"] == "9");
  CHECK(got["$SYS/broker/messages/received"] == "100");
  CHECK(got["$SYS/broker/messages/sent"] == "250");
  CHECK(got["$SYS/broker/messages/dropped"] == "7");
  CHECK(got["$SYS/broker/bytes/received"] == "1000");
  CHECK(got["$SYS/broker/bytes/sent"] == "2500");
  CHECK(got["$SYS/broker/subscriptions/count"] == "11");
  CHECK(got["$SYS/broker/retained messages/count"] == "4");
  CHECK(got.size() == 12);
}

TEST_CASE("add_by_transport sums each host's per-transport counters into the snapshot") {
  using hydrant::metrics::Counters;
  using hydrant::metrics::Transport;
  Counters a, b;
  a.of(Transport::Tcp).connected.add(2);
  a.of(Transport::Tcp).deliveries.add(10);
  b.of(Transport::Ws).connected.add(1);
  b.of(Transport::Wss).deliveries.add(3);
  b.of(Transport::Tcp).deliveries.add(5);
  Snapshot s;
  hydrant::metrics::add_by_transport(s, a);
  hydrant::metrics::add_by_transport(s, b);
  CHECK(s.by_transport[static_cast<size_t>(Transport::Tcp)].connected == 2);
  CHECK(s.by_transport[static_cast<size_t>(Transport::Tcp)].deliveries == 15);
  CHECK(s.by_transport[static_cast<size_t>(Transport::Ws)].connected == 1);
  CHECK(s.by_transport[static_cast<size_t>(Transport::Wss)].deliveries == 3);
  CHECK(s.by_transport[static_cast<size_t>(Transport::Tls)].deliveries == 0);
  CHECK(hydrant::metrics::transport_name(Transport::Wss) == "wss");
}
