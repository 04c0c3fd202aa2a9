// core/fd_budget: the automatic connection cap below the descriptor limit, lowering an explicit
// value over it, and the rate-limited counter behind the refusal logs.
#include <doctest.h>

#include "core/fd_budget.hpp"

using namespace hydrant::core;
using namespace std::chrono_literals;

TEST_CASE("the automatic cap keeps a reserve below the descriptor limit") {
  const ConnectionCap cap = connection_cap(0, 1024);
  CHECK(cap.reserve == 128);
  CHECK(cap.value == 896);
  CHECK_FALSE(cap.lowered);
  CHECK(connection_cap(0, 1 << 20).reserve == 4096);  // the reserve stops growing
  CHECK(connection_cap(0, 100).value == 50);          // tiny limits: half of it
  CHECK(connection_cap(0, 1).value == 1);             // never 0 (0 would mean unlimited)
}

TEST_CASE("an explicit cap above the automatic one is lowered; below it is kept") {
  const ConnectionCap high = connection_cap(100000, 1024);
  CHECK(high.value == 896);
  CHECK(high.lowered);
  const ConnectionCap low = connection_cap(10, 1024);
  CHECK(low.value == 10);
  CHECK_FALSE(low.lowered);
}

TEST_CASE("a rate-limited count reports the first event, then a count per period") {
  RateLimitedCount count(5s);
  const auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  CHECK(count.add(t0) == 1);
  for (int i = 0; i < 1000; ++i) CHECK(count.add(t0 + 1s) == 0);
  CHECK(count.add(t0 + 5s) == 1001);
  CHECK(count.add(t0 + 6s) == 0);
}
