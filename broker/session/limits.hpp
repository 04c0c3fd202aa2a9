// Limits: the protocol and resource limits a session and its connection obey, taken from the
// configuration (main.cpp maps config::Config onto it; the session layer does not read config).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hydrant::session {

struct Limits {
  uint32_t max_packet_size = 1048576;   // inbound, announced in CONNACK
  uint16_t receive_maximum = 100;       // inbound QoS>0 window, announced in CONNACK
  uint16_t max_inflight = 100;          // outbound QoS>0 window cap
  uint16_t topic_alias_maximum = 64;    // inbound aliases, announced in CONNACK
  uint32_t max_queued_messages = 10000; // per session
  uint64_t outbound_budget = 1048576;   // bytes waiting on one connection
  uint32_t stuck_timeout = 30;          // seconds with bytes pending and none written
  uint32_t connect_timeout = 10;        // seconds to receive CONNECT
  uint16_t max_keepalive = 65535;       // seconds
  uint32_t max_session_expiry = 604800; // seconds
  std::vector<std::string> deny_subscribe;  // filters refused to everyone
};

}  // namespace hydrant::session
