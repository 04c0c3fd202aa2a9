// Counters: per-worker event counts, written by the owning worker only and read by the $SYS
// publisher (and later /metrics) from any thread. Relaxed atomics: each is an independent tally,
// and load/store by the single writer avoids locked read-modify-write on the hot path.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hydrant::metrics {

class Counter {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// A level that goes up and down (connected clients); written by one worker.
class Gauge {
 public:
  void add(int64_t n) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  int64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// How a client connection arrived: MQTT over TCP or TLS (net/), or over WebSocket on an http or
// https listener (bridge/). A link carries its transport, so counting by it is an array index.
enum class Transport : uint8_t { Tcp, Tls, Ws, Wss };
inline constexpr size_t kTransports = 4;
inline constexpr std::array<std::string_view, kTransports> kTransportNames{"tcp", "tls", "ws", "wss"};
constexpr std::string_view transport_name(Transport t) { return kTransportNames[static_cast<size_t>(t)]; }

struct TransportCounters {
  Gauge connected;     // open now
  Counter deliveries;  // PUBLISH packets sent to subscribers
};

struct Counters {
  Counter messages_received;  // PUBLISH packets from clients
  Counter messages_sent;      // PUBLISH packets to clients
  Counter bytes_received;
  Counter bytes_sent;
  Counter messages_dropped;   // deliveries dropped: budget, queue overflow, size, expiry
  Counter connections_total;  // accepted since start
  Counter protocol_errors;    // connections closed for bad input
  Counter auth_failures;      // CONNECTs refused for wrong credentials
  Counter retained_refused;   // retained PUBLISHes over the retained quotas
  Counter publishes_refused;  // PUBLISHes refused by the access rules or payload checks
  Counter payloads_over_soft_limit;  // exchange payloads above payload-soft-limit (accepted)
  Gauge clients_connected;
  std::array<TransportCounters, kTransports> by_transport;  // indexed by Transport

  TransportCounters& of(Transport t) { return by_transport[static_cast<size_t>(t)]; }
  const TransportCounters& of(Transport t) const { return by_transport[static_cast<size_t>(t)]; }
};

}  // namespace hydrant::metrics
