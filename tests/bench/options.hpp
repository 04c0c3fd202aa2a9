// hydrant-loadgen: command-line options (see kHelp) and their defaults.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "args.hpp"

namespace loadgen {

struct Options {
  std::string scenario = "fanout", label, ready_file;
  std::string pub_transport = "tcp", sub_transport = "tcp", ws_path = "/mqtt";  // tcp | ws
  std::string topic_prefix = "bench/in";  // fanin
  std::string topic = "bench/fan";        // fanout, latency
  std::string filter = "exchange/bench/hist/#", since = "0";  // history
  int port = 1883, ws_port = 0, version = 4, qos = 0, sub_qos = 0, size = 256;
  int subs = 100, pubs = 1, window = 64, burst = 16, pub_inflight = 100, connect_window = 100, sources = 64;
  double duration = 5, rate = 0, deliveries_rate = 10000, drain = 3, hold = 5, timeout_ms = 2000;
  double setup_timeout = 60;
  int keepalive = 60;
  long count = 0;                          // stop publishing after this many (0: no limit)
  int readers = 4, limit = 1000;           // history
  long expect = 0;                         // history: messages in one whole pass (0: unchecked)
  int pub_port = 0;                        // TCP publishers connect here (0 = --port)
  std::vector<int> sub_ports;              // TCP subscriber i connects to sub_ports[i % n] (empty = --port)
};

inline constexpr const char* kHelp = R"(usage: hydrant-loadgen [--OPTION VALUE]...
  --scenario S         fanout | fanin | latency | connections | history (fanout)
  --port N             broker's MQTT (TCP) port on 127.0.0.1 (1883)
  --pub-port N         the publishers' TCP port instead, e.g. another cluster node (0 = --port)
  --sub-ports P,P,...  TCP subscriber i connects to the (i mod n)-th of these (default: --port)
  --transport tcp|ws   how every client connects: MQTT over TCP, or over WebSocket at
                       ws://127.0.0.1:<ws-port><ws-path> (tcp)
  --pub-transport T    the same for the publishers only (later options win)
  --sub-transport T    the same for the subscribers (and idle clients) only
  --ws-port N          broker's WebSocket port, also its HTTP API for history (0 = --port)
  --ws-path P          upgrade path, subprotocol mqtt (/mqtt)
  --mqtt 4|5           protocol: 4 = 3.1.1, 5 = 5.0 (4)
  --subs N             subscribers (fanout, latency) or idle clients (connections); fanout
                       takes 0: publishing only, limited by --pub-inflight at QoS 1 (100)
  --pubs N             publishers (fanin) (1)
  --qos 0|1            QoS of the subscriptions and the publishes (0)
  --sub-qos 0|1        QoS of the subscriptions only (later options win)
  --size B             payload bytes, JSON, at least 53 (256)
  --topic-prefix P     fanin: publisher i sends to P/i, the subscriber takes P/+ (bench/in)
  --topic T            fanout, latency: the one topic published and subscribed (bench/fan)
  --duration S         seconds of publishing, or of reading (history) (5)
  --count N            stop publishing after N messages, even before --duration (0 = no limit)
  --window N           closed loop: messages outstanding (64)
  --burst N            messages a publisher sends in a row before the next one's turn (16)
  --rate R             open loop: messages/s in total; 0 = closed loop (0)
  --deliveries-rate D  latency: deliveries/s in total, rate = D / subs (10000)
  --pub-inflight N     QoS 1 publishes a publisher leaves unacknowledged, at most (100)
  --timeout-ms T       closed loop: a message undelivered this long frees its slot (2000)
  --drain S            after publishing, wait this long past the last delivery (3)
  --hold S             connections: keep the clients this long once all are ready (5)
  --ready-file PATH    connections: written when all clients are ready
  --connect-window N   handshakes in progress at once (100)
  --sources N          127.0.1.1 .. 127.0.1.N source addresses (64)
  --keepalive S        MQTT keep alive; PINGREQ after S/2 idle (60)
  --setup-timeout S    give up if not every client is ready by then (60)
  --readers N          history: keep-alive HTTP/1.1 connections reading at once (4)
  --filter F           history: topic filter of GET /api/v1/history (exchange/bench/hist/#)
  --since S            history: where each pass starts, passed as since= (0)
  --limit N            history: messages per page, passed as limit= (1000)
  --expect N           history: messages a whole pass must find; others count as short (0)
  --label TEXT         copied into the output
)";

inline Options parse_options(int argc, char** argv) {
  Options o;
  bench::each_option(argc, argv, kHelp, [&o](const std::string& k, const std::string& v) {
    auto num = [&] { return std::stod(v); };
    if (k == "--scenario") o.scenario = v;
    else if (k == "--label") o.label = v;
    else if (k == "--ready-file") o.ready_file = v;
    else if (k == "--port") o.port = static_cast<int>(num());
    else if (k == "--pub-port") o.pub_port = static_cast<int>(num());
    else if (k == "--sub-ports") {
      o.sub_ports.clear();
      for (size_t at = 0; at <= v.size();) {
        const size_t end = std::min(v.find(',', at), v.size());
        o.sub_ports.push_back(std::stoi(v.substr(at, end - at)));
        at = end + 1;
      }
    }
    else if (k == "--ws-port") o.ws_port = static_cast<int>(num());
    else if (k == "--ws-path") o.ws_path = v;
    else if (k == "--transport") o.pub_transport = o.sub_transport = v;
    else if (k == "--pub-transport") o.pub_transport = v;
    else if (k == "--sub-transport") o.sub_transport = v;
    else if (k == "--mqtt") o.version = static_cast<int>(num());
    else if (k == "--qos") o.qos = o.sub_qos = static_cast<int>(num());
    else if (k == "--sub-qos") o.sub_qos = static_cast<int>(num());
    else if (k == "--size") o.size = static_cast<int>(num());
    else if (k == "--subs") o.subs = static_cast<int>(num());
    else if (k == "--pubs") o.pubs = static_cast<int>(num());
    else if (k == "--window") o.window = static_cast<int>(num());
    else if (k == "--burst") o.burst = static_cast<int>(num());
    else if (k == "--pub-inflight") o.pub_inflight = static_cast<int>(num());
    else if (k == "--connect-window") o.connect_window = static_cast<int>(num());
    else if (k == "--sources") o.sources = static_cast<int>(num());
    else if (k == "--keepalive") o.keepalive = static_cast<int>(num());
    else if (k == "--duration") o.duration = num();
    else if (k == "--rate") o.rate = num();
    else if (k == "--deliveries-rate") o.deliveries_rate = num();
    else if (k == "--timeout-ms") o.timeout_ms = num();
    else if (k == "--drain") o.drain = num();
    else if (k == "--hold") o.hold = num();
    else if (k == "--setup-timeout") o.setup_timeout = num();
    else if (k == "--topic-prefix") o.topic_prefix = v;
    else if (k == "--topic") o.topic = v;
    else if (k == "--count") o.count = static_cast<long>(num());
    else if (k == "--readers") o.readers = static_cast<int>(num());
    else if (k == "--filter") o.filter = v;
    else if (k == "--since") o.since = v;
    else if (k == "--limit") o.limit = static_cast<int>(num());
    else if (k == "--expect") o.expect = static_cast<long>(num());
    else {
      fmt::print(stderr, "loadgen: unknown option {}\n{}", k, kHelp);
      std::exit(64);
    }
  });
  const bool known = o.scenario == "fanout" || o.scenario == "fanin" || o.scenario == "latency" ||
                     o.scenario == "connections" || o.scenario == "history";
  auto transport_ok = [](const std::string& t) { return t == "tcp" || t == "ws"; };
  if (!transport_ok(o.pub_transport) || !transport_ok(o.sub_transport) || o.ws_path.empty() ||
      o.ws_path[0] != '/') {
    fmt::print(stderr, "loadgen: a transport is tcp or ws, and --ws-path starts with /\n");
    std::exit(64);
  }
  if (!known || (o.version != 4 && o.version != 5) || o.qos < 0 || o.qos > 1 || o.sub_qos < 0 ||
      o.sub_qos > 1 || o.subs < (o.scenario == "fanout" ? 0 : 1) || o.pubs < 1 || o.window < 1 ||
      o.burst < 1 || o.sources < 1 || o.sources > 254 || o.connect_window < 1 ||
      o.count < 0 || o.readers < 1 || o.limit < 1 || o.expect < 0 || o.topic_prefix.empty() ||
      o.topic.empty() || o.pub_port < 0 || o.pub_port > 65535 ||
      std::any_of(o.sub_ports.begin(), o.sub_ports.end(), [](int p) { return p < 1 || p > 65535; })) {
    fmt::print(stderr, "loadgen: bad option value\n{}", kHelp);
    std::exit(64);
  }
  return o;
}

}  // namespace loadgen
