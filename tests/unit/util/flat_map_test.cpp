// FlatMap / FlatSet against std::map / std::set on random operations, plus the edge cases the
// sessions rely on (heterogeneous lookup, erase while iterating, an emptied container).
#include <doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/flat_map.hpp"

using hydrant::util::FlatMap;
using hydrant::util::FlatSet;

TEST_CASE("FlatMap behaves like std::map under random inserts, replaces and erases") {
  std::mt19937 rng(7);
  FlatMap<uint16_t, int> flat;
  std::map<uint16_t, int> ref;
  for (int step = 0; step < 20000; ++step) {
    const auto key = static_cast<uint16_t>(rng() % 300);
    const int value = static_cast<int>(rng());
    switch (rng() % 3) {
      case 0: {
        const bool added = flat.insert_or_assign(key, value);
        CHECK(added == !ref.contains(key));
        ref[key] = value;
        break;
      }
      case 1:
        CHECK(flat.erase(key) == (ref.erase(key) == 1));
        break;
      default: {
        auto it = flat.find(key);
        auto rit = ref.find(key);
        REQUIRE((it == flat.end()) == (rit == ref.end()));
        if (rit != ref.end()) CHECK(it->second == rit->second);
      }
    }
    REQUIRE(flat.size() == ref.size());
  }
  auto rit = ref.begin();
  for (const auto& [k, v] : flat) {  // same order: sorted by key
    REQUIRE(rit != ref.end());
    CHECK(k == rit->first);
    CHECK(v == rit->second);
    ++rit;
  }
}

TEST_CASE("FlatMap: string keys are found by string_view; erase(iterator) walks to the end") {
  FlatMap<std::string, int> m;
  CHECK(m.insert_or_assign("b/c", 2));
  CHECK(m.insert_or_assign("a", 1));
  CHECK_FALSE(m.insert_or_assign("a", 10));  // replaced, not added
  CHECK(m.find(std::string_view("a"))->second == 10);
  CHECK(m.contains(std::string_view("b/c")));
  CHECK_FALSE(m.contains(std::string_view("b")));
  CHECK(m.lower_bound(std::string_view("b"))->first == "b/c");

  int visited = 0;
  for (auto it = m.begin(); it != m.end();) {
    it = m.erase(it);  // the last erase empties the map and must still end the loop
    ++visited;
  }
  CHECK(visited == 2);
  CHECK(m.empty());
  CHECK(m.begin() == m.end());
  CHECK_FALSE(m.erase(std::string_view("a")));
}

TEST_CASE("FlatSet behaves like std::set") {
  std::mt19937 rng(11);
  FlatSet<uint16_t> flat;
  std::set<uint16_t> ref;
  for (int step = 0; step < 20000; ++step) {
    const auto key = static_cast<uint16_t>(rng() % 200);
    if (rng() % 2) {
      CHECK(flat.insert(key) == ref.insert(key).second);
    } else {
      CHECK(flat.erase(key) == (ref.erase(key) == 1));
    }
    CHECK(flat.contains(key) == ref.contains(key));
    REQUIRE(flat.size() == ref.size());
  }
  CHECK(flat.empty() == ref.empty());
}

namespace {
// A comparator that counts its calls: the batch operations must stay O(n log n) in comparisons
// and element moves, where one insert_or_assign/erase per key shifts the vector each time.
struct CountingLess {
  static inline size_t calls = 0;
  bool operator()(const std::string& a, const std::string& b) const {
    ++calls;
    return a < b;
  }
};
}  // namespace

TEST_CASE("FlatMap batch insert and erase of 65,535 keys stay O(n log n)") {
  constexpr size_t kN = 65535;
  std::vector<std::pair<std::string, int>> batch;
  // Reverse order: the worst case for one-by-one sorted insertion (every key goes to the front).
  for (size_t i = kN; i-- > 0;) batch.emplace_back("filter/" + std::to_string(i), static_cast<int>(i));
  batch.emplace_back("filter/7", -7);  // a duplicate within the batch: the last one wins
  FlatMap<std::string, int, CountingLess> flat;
  flat.insert_or_assign(std::string("held/before"), 1);
  CountingLess::calls = 0;
  flat.insert_or_assign_many(std::move(batch));
  const size_t bound = 2 * 40 * kN;  // comfortably above k log2 k (~16 k) for sort + merge
  CHECK(CountingLess::calls < bound);
  CHECK(flat.size() == kN + 1);
  CHECK(flat.find(std::string("filter/7"))->second == -7);
  CHECK(std::is_sorted(flat.begin(), flat.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; }));

  CountingLess::calls = 0;
  std::set<std::string, std::less<>> removed;
  for (size_t i = 0; i < kN; i += 2) removed.insert("filter/" + std::to_string(i));
  const size_t erased = flat.erase_if([&](const auto& item) { return removed.contains(item.first); });
  CHECK(erased == removed.size());
  CHECK(CountingLess::calls == 0);  // one pass, no ordering work
  CHECK(flat.size() == kN + 1 - removed.size());
  CHECK(flat.contains(std::string("filter/1")));
  CHECK(!flat.contains(std::string("filter/2")));
  CHECK(flat.contains(std::string("held/before")));
  const size_t left = flat.size();
  CHECK(flat.erase_if([](const auto&) { return true; }) == left);
  CHECK(flat.empty());
}
