// The exchange registry: first publish registers the first level, declared names of several
// levels win (longest first), the per-owner cap, delete.
#include <doctest.h>

#include "pulse/exchange_registry.hpp"

using hydrant::pulse::ExchangeRegistry;

TEST_CASE("first publish registers the first level under the owner") {
  ExchangeRegistry r;
  CHECK(r.note_publish("exchange/hgpushes/v2/try", 100));
  CHECK(r.note_publish("exchange/hgpushes/v2/integration%2Fautoland", 101));
  CHECK(r.note_publish("bench/x", 1));            // not under exchange/: nothing registered
  CHECK(r.note_publish("exchange/hgpushes", 1));  // no exchange name: nothing registered
  CHECK(r.name_levels("exchange/hgpushes/v2/try") == 1);
  const auto list = r.list();
  REQUIRE(list.size() == 1);
  CHECK(list[0].owner == "hgpushes");
  CHECK(list[0].name == "v2");
  CHECK(list[0].created == 100);
  CHECK_FALSE(list[0].declared);
}

TEST_CASE("declared names of several levels split topics; the longest wins") {
  ExchangeRegistry r;
  CHECK(r.declare("taskcluster", "v1/task-completed", 5));
  CHECK_FALSE(r.declare("taskcluster", "v1/task-completed", 6));
  CHECK(r.name_levels("exchange/taskcluster/v1/task-completed/primary/x") == 2);
  CHECK(r.note_publish("exchange/taskcluster/v1/task-completed/primary/x", 7));
  CHECK(r.list().size() == 1);  // covered by the declared name: nothing new
  CHECK(r.name_levels("exchange/taskcluster/v1/task-completedX/y") == 1);  // whole levels only
  CHECK(r.note_publish("exchange/taskcluster/v1/task-pending/y", 8));  // registers "v1"
  CHECK(r.name_levels("exchange/taskcluster/v1/task-completed/primary") == 2);
  CHECK(r.name_levels("exchange/taskcluster/v1/task-pending") == 1);
  CHECK(r.list().size() == 2);
  // Declaring what a publish registered marks it declared.
  CHECK(r.declare("taskcluster", "v1", 9));
  for (const auto& e : r.list()) CHECK(e.declared);
  CHECK(r.has_multi_level());
  CHECK(r.remove("taskcluster", "v1/task-completed"));
  CHECK_FALSE(r.has_multi_level());  // the hot path stops asking name_levels()
  CHECK_FALSE(r.remove("taskcluster", "v1/task-completed"));
  CHECK(r.name_levels("exchange/taskcluster/v1/task-completed/primary") == 1);
}

TEST_CASE("an owner may register a bounded number of exchanges") {
  ExchangeRegistry r(3);
  for (const char* t : {"exchange/u/a/k", "exchange/u/b/k", "exchange/u/c/k"}) {
    CHECK(r.note_publish(t, 1));
  }
  CHECK_FALSE(r.note_publish("exchange/u/d/k", 1));
  CHECK(r.note_publish("exchange/u/a/other", 1));  // known ones still work
  CHECK(r.note_publish("exchange/v/a/k", 1));      // another owner has its own quota
  CHECK_FALSE(r.declare("u", "e", 1));
}
