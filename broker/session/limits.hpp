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
  uint32_t max_subscriptions_per_session = 1000;  // beyond: SUBACK 0x97 / 0x80; 0 = unlimited
  std::vector<std::string> deny_subscribe;  // filters refused to everyone
  // Access (issue 5); ignored when the AccessControl is open.
  uint32_t anon_max_subscriptions = 64;   // per anonymous connection; 0 = unlimited
  uint32_t anon_max_packet_size = 16384;  // inbound after an anonymous CONNECT
  uint32_t payload_soft_limit = 8192;     // exchange payloads above: counted and logged
  uint32_t payload_hard_limit = 262144;   // exchange payloads above: refused
  uint32_t auth_failure_delay_ms = 1000;  // before answering wrong credentials
  uint32_t queue_warning_percent = 80;    // of max_queued_messages: the owner is told
  uint32_t queue_overlimit_timeout = 3600;  // seconds at the limit before a queue is deleted
};

}  // namespace hydrant::session
