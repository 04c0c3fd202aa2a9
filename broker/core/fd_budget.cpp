// Connection cap from the descriptor limit. See fd_budget.hpp.
#include "core/fd_budget.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace hydrant::core {

uint32_t fd_reserve(uint64_t fd_limit) {
  // A fixed floor for the log, lock, runtime file, epoll/eventfd pairs, listeners and a few open
  // store segments, plus a share that grows with the limit for HTTP requests and admin work.
  return static_cast<uint32_t>(std::min<uint64_t>(64 + fd_limit / 16, 4096));
}

ConnectionCap connection_cap(uint32_t configured, uint64_t fd_limit) {
  ConnectionCap cap;
  cap.fd_limit = fd_limit;
  cap.reserve = fd_reserve(fd_limit);
  const uint64_t room = fd_limit > uint64_t{cap.reserve} * 2 ? fd_limit - cap.reserve : fd_limit / 2;
  const auto automatic = static_cast<uint32_t>(std::clamp<uint64_t>(room, 1, UINT32_MAX));
  cap.value = configured == 0 ? automatic : std::min(configured, automatic);
  cap.lowered = configured > automatic;
  return cap;
}

ConnectionCap connection_cap(uint32_t configured) {
  rlimit rl{};
  uint64_t limit = 1024;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) limit = rl.rlim_cur;
  if (rl.rlim_cur == RLIM_INFINITY) limit = UINT32_MAX;
  return connection_cap(configured, limit);
}

}  // namespace hydrant::core
