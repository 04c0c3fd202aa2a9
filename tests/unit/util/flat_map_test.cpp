// FlatMap / FlatSet against std::map / std::set on random operations, plus the edge cases the
// sessions rely on (heterogeneous lookup, erase while iterating, an emptied container).
#include <doctest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>

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
