// How many client connections the process's descriptor limit allows, and a rate-limited counter
// for events that a flood can repeat thousands of times a second (refusals, accept failures).
#pragma once

#include <chrono>
#include <cstdint>

namespace hydrant::core {

struct ConnectionCap {
  uint32_t value = 0;       // the cap to enforce (never 0: always bounded)
  uint64_t fd_limit = 0;    // RLIMIT_NOFILE's soft limit at start-up
  uint32_t reserve = 0;     // descriptors kept for the log, store segments, HTTP, epoll, listeners
  bool lowered = false;     // an explicit value above the automatic one was lowered
};

// Descriptors kept back from clients out of `fd_limit`.
uint32_t fd_reserve(uint64_t fd_limit);
// `configured`: the max-connections key, 0 = automatic (the fd limit less the reserve). An
// explicit value above the automatic one is lowered to it (the caller warns).
ConnectionCap connection_cap(uint32_t configured, uint64_t fd_limit);
// The same with the process's current soft RLIMIT_NOFILE.
ConnectionCap connection_cap(uint32_t configured);

// Counts events and says when to log: the first one, then at most once per `period` with the
// number seen since the last line. One thread only.
class RateLimitedCount {
 public:
  explicit RateLimitedCount(std::chrono::steady_clock::duration period = std::chrono::seconds(5))
      : period_(period) {}
  // Counts one event; returns the number to report (> 0) when a line is due, else 0.
  uint64_t add(std::chrono::steady_clock::time_point now) {
    ++pending_;
    if (logged_once_ && now - last_ < period_) return 0;
    logged_once_ = true;
    last_ = now;
    const uint64_t n = pending_;
    pending_ = 0;
    return n;
  }

 private:
  std::chrono::steady_clock::duration period_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t pending_ = 0;
  bool logged_once_ = false;
};

}  // namespace hydrant::core
