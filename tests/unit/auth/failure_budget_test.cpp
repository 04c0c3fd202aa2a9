// FailureBudget and RefusalLogLimit (auth/failure_budget.hpp): per-address buckets, /64 for IPv6,
// refill, the table bound.
#include <doctest/doctest.h>

#include "auth/failure_budget.hpp"

using hydrant::auth::FailureBudget;
using hydrant::auth::FailureBudgetOptions;
using hydrant::auth::RefusalLogLimit;
using hydrant::util::PeerAddress;

namespace {

PeerAddress v4(uint8_t last) {
  PeerAddress p;
  p.family = PeerAddress::Family::V4;
  p.bytes = {127, 0, 0, last};
  return p;
}

PeerAddress v6(uint8_t net, uint8_t host) {
  PeerAddress p;
  p.family = PeerAddress::Family::V6;
  p.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, net, 0, 0, 0, 0, 0, 0, 0, host};
  return p;
}

}  // namespace

TEST_CASE("an address out of failures is refused until one refills") {
  FailureBudget budget(FailureBudgetOptions{3, 10, 100});
  for (int i = 0; i < 3; ++i) {
    CHECK(budget.allows(v4(1), 0));
    budget.record_failure(v4(1), 0);
  }
  CHECK_FALSE(budget.allows(v4(1), 0));
  CHECK(budget.allows(v4(2), 0));           // another address is unaffected
  CHECK_FALSE(budget.allows(v4(1), 9999));  // not yet one refill period
  CHECK(budget.allows(v4(1), 10000));
  budget.record_failure(v4(1), 10000);
  CHECK_FALSE(budget.allows(v4(1), 10000));
}

TEST_CASE("IPv6 addresses share the budget of their /64") {
  FailureBudget budget(FailureBudgetOptions{2, 60, 100});
  budget.record_failure(v6(1, 1), 0);
  budget.record_failure(v6(1, 2), 0);
  CHECK_FALSE(budget.allows(v6(1, 3), 0));
  CHECK(budget.allows(v6(2, 1), 0));
}

TEST_CASE("the table stays bounded and forgets refilled addresses first") {
  FailureBudget budget(FailureBudgetOptions{1, 1, 4});
  for (uint8_t i = 0; i < 4; ++i) budget.record_failure(v4(i), 0);
  CHECK(budget.tracked() == 4);
  budget.record_failure(v4(9), 0);  // full of active entries: not tracked
  CHECK(budget.tracked() == 4);
  CHECK(budget.allows(v4(9), 0));
  budget.record_failure(v4(9), 5000);  // the others have refilled by now: dropped
  CHECK(budget.tracked() == 1);
  CHECK_FALSE(budget.allows(v4(9), 5000));
}

TEST_CASE("burst 0 means no budget") {
  FailureBudget budget(FailureBudgetOptions{0, 1, 4});
  for (int i = 0; i < 100; ++i) budget.record_failure(v4(1), 0);
  CHECK(budget.allows(v4(1), 0));
}

TEST_CASE("refusals log once per period, then the count") {
  RefusalLogLimit limit(1000, 8);
  CHECK(limit.due(v4(1), 0) == 1);
  CHECK(limit.due(v4(1), 10) == 0);
  CHECK(limit.due(v4(1), 20) == 0);
  CHECK(limit.due(v4(2), 20) == 1);
  CHECK(limit.due(v4(1), 1000) == 3);  // this one and the two suppressed
  CHECK(limit.due(v4(1), 1001) == 0);
}
