// Listening sockets: one per worker on the same address (SO_REUSEPORT lets the kernel spread
// accepts across workers), all with SO_REUSEADDR so a restart binds at once.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace hydrant::net {

struct ListenAddress {
  std::string host;  // IPv4 or IPv6 literal; "" or "0.0.0.0" = any IPv4
  uint16_t port = 0;  // 0 = any free port (tests)
};

// Opens `count` non-blocking listening sockets bound to `addr`. Returns the fds and sets
// `bound_port` to the port actually bound. Throws std::runtime_error with the reason on failure.
std::vector<int> open_listeners(const ListenAddress& addr, unsigned count, uint16_t& bound_port);

class Worker;
// Binds one socket per worker to `addr` and hands each worker its own; returns the bound port.
// `tls`: MQTT over TLS with the contexts each worker was given. Before the workers start. Throws.
uint16_t listen_on(std::span<Worker* const> workers, const ListenAddress& addr, bool tls = false);

}  // namespace hydrant::net
