// TopicActivity: prefixes, rates over the last minute, the bound, merging hosts.
#include <doctest.h>

#include "metrics/topic_activity.hpp"

using hydrant::metrics::PrefixStats;
using hydrant::metrics::TopicActivity;
using namespace std::chrono_literals;

namespace {
const auto kT0 = TopicActivity::Steady(1000s);
const auto kWall = TopicActivity::Wall(std::chrono::seconds(1'800'000'000));

const PrefixStats* find(const std::vector<PrefixStats>& all, std::string_view prefix) {
  for (const auto& s : all) {
    if (s.prefix == prefix) return &s;
  }
  return nullptr;
}
}  // namespace

TEST_CASE("prefix_of: exchanges by their first three levels, others by the first, $ not at all") {
  bool ex = false;
  CHECK(TopicActivity::prefix_of("exchange/hgpushes/v1/integration%2Fautoland", ex) ==
        "exchange/hgpushes/v1");
  CHECK(ex);
  CHECK(TopicActivity::prefix_of("exchange/a/b", ex) == "exchange/a/b");
  CHECK(ex);
  CHECK(TopicActivity::prefix_of("exchange/a", ex) == "exchange");
  CHECK_FALSE(ex);
  CHECK(TopicActivity::prefix_of("exchange//b/c", ex) == "exchange");
  CHECK_FALSE(ex);
  CHECK(TopicActivity::prefix_of("bench/fan", ex) == "bench");
  CHECK(TopicActivity::prefix_of("$SYS/broker/uptime", ex).empty());
}

TEST_CASE("prefix_of: an exchange of several levels, as registered") {
  bool ex = false;
  CHECK(TopicActivity::prefix_of("exchange/gerrit/v1/change-merged/project", ex, 2) ==
        "exchange/gerrit/v1/change-merged");
  CHECK(ex);
  CHECK(TopicActivity::prefix_of("exchange/gerrit/v1/change-merged", ex, 2) == "exchange/gerrit/v1/change-merged");
  CHECK(TopicActivity::prefix_of("exchange/gerrit/v1/change-merged", ex, 3) == "exchange/gerrit/v1/change-merged");
}

TEST_CASE("a declared exchange counts apart from its parent; seeded counts carry no rate") {
  TopicActivity a;
  a.record("exchange/gerrit/v1/patchset-created/p", 10, kT0, kWall);
  a.record("exchange/gerrit/v1/change-merged/p", 20, kT0, kWall, 2);
  a.seed("exchange/gerrit/v1", 5, 500, kWall - 10s);
  const auto all = a.snapshot(kT0);
  const auto* parent = find(all, "exchange/gerrit/v1");
  const auto* child = find(all, "exchange/gerrit/v1/change-merged");
  REQUIRE(parent);
  REQUIRE(child);
  CHECK(parent->messages == 6);
  CHECK(parent->bytes == 510);
  CHECK(parent->seeded_messages == 5);  // /metrics counts the one since start
  CHECK(parent->seeded_bytes == 500);
  CHECK(parent->messages_per_s == doctest::Approx(1.0 / 60));
  CHECK(parent->last_publish == kWall);  // the newer of seeded and recorded
  CHECK(child->messages == 1);
  CHECK(child->exchange);
}

TEST_CASE("counts, rates over the last 60 s, last publish") {
  TopicActivity a;
  for (int s = 0; s < 30; ++s) {
    a.record("exchange/o/n/k", 100, kT0 + std::chrono::seconds(s), kWall + std::chrono::seconds(s));
    a.record("exchange/o/n/k", 100, kT0 + std::chrono::seconds(s), kWall + std::chrono::seconds(s));
  }
  a.record("$SYS/x", 5, kT0, kWall);
  auto snap = a.snapshot(kT0 + 29s);
  REQUIRE(snap.size() == 1);
  CHECK(snap[0].exchange);
  CHECK(snap[0].messages == 60);
  CHECK(snap[0].bytes == 6000);
  CHECK(snap[0].messages_per_s == doctest::Approx(1.0));
  CHECK(snap[0].last_publish == kWall + 29s);
  // A minute later the rate is gone, the totals stay.
  auto later = a.snapshot(kT0 + 120s);
  CHECK(later[0].messages_per_s == 0);
  CHECK(later[0].messages == 60);
}

TEST_CASE("bounded: past max_prefixes new prefixes count as (other)") {
  TopicActivity a(2);
  a.record("one/x", 1, kT0, kWall);
  a.record("two/x", 1, kT0, kWall);
  a.record("three/x", 1, kT0, kWall);
  a.record("four/x", 1, kT0, kWall);
  a.record("one/y", 1, kT0, kWall);
  auto snap = a.snapshot(kT0);
  CHECK(snap.size() == 3);
  CHECK(find(snap, "one")->messages == 2);
  REQUIRE(find(snap, TopicActivity::kOther) != nullptr);
  CHECK(find(snap, TopicActivity::kOther)->messages == 2);
}

TEST_CASE("merge sums hosts and keeps the latest publish, newest first") {
  TopicActivity h1;
  TopicActivity h2;
  h1.record("exchange/o/n/a", 10, kT0, kWall);
  h2.record("exchange/o/n/b", 30, kT0, kWall + 5s);
  h2.record("other", 1, kT0, kWall + 1s);
  auto merged = TopicActivity::merge({h1.snapshot(kT0), h2.snapshot(kT0)});
  REQUIRE(merged.size() == 2);
  CHECK(merged[0].prefix == "exchange/o/n");
  CHECK(merged[0].messages == 2);
  CHECK(merged[0].bytes == 40);
  CHECK(merged[0].last_publish == kWall + 5s);
  CHECK(merged[1].prefix == "other");
}

TEST_CASE("recent: 20-s buckets of the last 10 minutes, oldest first") {
  TopicActivity a;
  // kT0 = 1000 s: slot 50 holds 1000..1019 s.
  a.record("exchange/o/n/k", 1, kT0, kWall);
  a.record("exchange/o/n/k", 1, kT0 + 19s, kWall);
  a.record("exchange/o/n/k", 1, kT0 + 20s, kWall);  // the next bucket
  auto snap = a.snapshot(kT0 + 25s);
  REQUIRE(snap.size() == 1);
  CHECK(snap[0].recent_last_slot == 51);
  CHECK(snap[0].recent[hydrant::metrics::kRecentBuckets - 1] == 1);
  CHECK(snap[0].recent[hydrant::metrics::kRecentBuckets - 2] == 2);
  uint64_t total = 0;
  for (uint32_t n : snap[0].recent) total += n;
  CHECK(total == 3);

  // Nine and a half minutes on, the first bucket is the oldest shown; a minute later both are gone.
  snap = a.snapshot(kT0 + 29 * 20s);
  CHECK(snap[0].recent[0] == 2);
  CHECK(snap[0].recent[1] == 1);
  snap = a.snapshot(kT0 + 31 * 20s);
  for (uint32_t n : snap[0].recent) CHECK(n == 0);
}

TEST_CASE("recent: a bucket reused after 10 minutes starts again from zero") {
  TopicActivity a;
  a.record("p/x", 1, kT0, kWall);
  a.record("p/x", 1, kT0, kWall);
  a.record("p/x", 1, kT0 + 600s, kWall);  // the same ring index, 30 slots later
  const auto snap = a.snapshot(kT0 + 600s);
  CHECK(snap[0].recent[hydrant::metrics::kRecentBuckets - 1] == 1);
  uint64_t total = 0;
  for (uint32_t n : snap[0].recent) total += n;
  CHECK(total == 1);
}

TEST_CASE("merge sums recent buckets by slot, also across snapshots of different slots") {
  TopicActivity h1;
  TopicActivity h2;
  h1.record("exchange/o/n/a", 1, kT0, kWall);
  h2.record("exchange/o/n/b", 1, kT0, kWall);
  h2.record("exchange/o/n/b", 1, kT0 + 20s, kWall);
  // h1 is read a bucket earlier than h2: its buckets shift one place older.
  auto merged = TopicActivity::merge({h1.snapshot(kT0), h2.snapshot(kT0 + 20s)});
  REQUIRE(merged.size() == 1);
  constexpr size_t last = hydrant::metrics::kRecentBuckets - 1;
  CHECK(merged[0].recent_last_slot == 51);
  CHECK(merged[0].recent[last] == 1);
  CHECK(merged[0].recent[last - 1] == 2);
  // The same the other way round.
  merged = TopicActivity::merge({h2.snapshot(kT0 + 20s), h1.snapshot(kT0)});
  CHECK(merged[0].recent[last] == 1);
  CHECK(merged[0].recent[last - 1] == 2);
}
