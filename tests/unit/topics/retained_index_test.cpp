// RetainedIndex with int values: set / replace / erase / find / for_each, filter matching, and a
// property test against match_filter().
#include "topics/retained_index.hpp"

#include <doctest.h>

#include "random_topics.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "topics/topic.hpp"

using namespace hydrant::topics;

namespace {

using Index = RetainedIndex<int>;
using Hits = std::vector<std::pair<std::string, int>>;

Hits matches(const Index& index, std::string_view filter) {
  Hits out;
  index.match(filter, [&](std::string_view topic, const int& v) { out.emplace_back(topic, v); });
  std::sort(out.begin(), out.end());
  return out;
}

Hits all(const Index& index) {
  Hits out;
  index.for_each([&](std::string_view topic, const int& v) { out.emplace_back(topic, v); });
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("RetainedIndex: set, find, replace, erase") {
  Index index;
  CHECK(index.size() == 0);
  CHECK(index.find("a") == nullptr);
  index.set("a/b", 1);
  index.set("a", 2);
  index.set("a//b", 3);
  index.set("a/", 4);
  CHECK(index.size() == 4);
  REQUIRE(index.find("a/b") != nullptr);
  CHECK(*index.find("a/b") == 1);
  CHECK(*index.find("a") == 2);
  CHECK(*index.find("a//b") == 3);
  CHECK(*index.find("a/") == 4);
  CHECK(index.find("a/c") == nullptr);
  CHECK(index.find("a/b/c") == nullptr);
  CHECK(index.find("/a") == nullptr);

  index.set("a/b", 10);  // replace
  CHECK(index.size() == 4);
  CHECK(*index.find("a/b") == 10);
  CHECK(all(index) == Hits{{"a", 2}, {"a/", 4}, {"a//b", 3}, {"a/b", 10}});

  CHECK_FALSE(index.erase("a/c"));
  CHECK_FALSE(index.erase("a/b/c"));
  CHECK(index.erase("a"));  // interior node keeps its children
  CHECK_FALSE(index.erase("a"));
  CHECK(index.find("a") == nullptr);
  CHECK(*index.find("a/b") == 10);
  CHECK(index.size() == 3);

  CHECK(index.erase("a//b"));
  CHECK(index.erase("a/b"));
  CHECK(index.node_count_for_test() == 3);  // root, a, a/(empty level)
  CHECK(index.erase("a/"));
  CHECK(index.size() == 0);
  CHECK(index.node_count_for_test() == 1);
  CHECK(all(index).empty());
}

TEST_CASE("RetainedIndex: match") {
  Index index;
  const char* topics[] = {"sport/tennis/player1", "sport/tennis/player1/ranking",
                          "sport/tennis/player1/score/wimbledon", "sport/tennis/player2",
                          "sport", "sport/", "/finance", "$SYS/broker/clients", "$SYS",
                          "a/$x"};
  int v = 0;
  for (const char* t : topics) index.set(t, v++);

  CHECK(matches(index, "sport/tennis/player1/#") ==
        Hits{{"sport/tennis/player1", 0},
             {"sport/tennis/player1/ranking", 1},
             {"sport/tennis/player1/score/wimbledon", 2}});
  CHECK(matches(index, "sport/#") ==
        Hits{{"sport", 4},
             {"sport/", 5},
             {"sport/tennis/player1", 0},
             {"sport/tennis/player1/ranking", 1},
             {"sport/tennis/player1/score/wimbledon", 2},
             {"sport/tennis/player2", 3}});
  CHECK(matches(index, "sport/tennis/+") ==
        Hits{{"sport/tennis/player1", 0}, {"sport/tennis/player2", 3}});
  CHECK(matches(index, "sport/+") == Hits{{"sport/", 5}});
  CHECK(matches(index, "+") == Hits{{"sport", 4}});  // not "$SYS"
  CHECK(matches(index, "+/+") == Hits{{"/finance", 6}, {"a/$x", 9}, {"sport/", 5}});
  CHECK(matches(index, "+/finance") == Hits{{"/finance", 6}});
  CHECK(matches(index, "#").size() == 8);  // everything but the two $SYS topics
  CHECK(matches(index, "$SYS/#") == Hits{{"$SYS", 8}, {"$SYS/broker/clients", 7}});
  CHECK(matches(index, "$SYS/+/clients") == Hits{{"$SYS/broker/clients", 7}});
  CHECK(matches(index, "+/broker/clients").empty());
  CHECK(matches(index, "a/+") == Hits{{"a/$x", 9}});
  CHECK(matches(index, "nothing/#").empty());
  CHECK(matches(index, "sport/tennis").empty());  // interior node without a value
}

TEST_CASE("RetainedIndex: deep topics do not recurse") {
  const std::string deep(65535, '/');
  Index index;
  index.set(deep, 1);
  index.set("x", 2);
  REQUIRE(index.find(deep) != nullptr);
  CHECK(matches(index, "#").size() == 2);
  CHECK(matches(index, deep) == Hits{{deep, 1}});
  CHECK(all(index).size() == 2);
  // Destroyed with the index: must not overflow the stack either.
}

TEST_CASE("RetainedIndex: property test against match_filter") {
  test::RandomTopics gen(7);
  auto random_topic = [&] { return gen.topic(); };
  auto random_filter = [&] { return gen.filter(); };

  Index index;
  std::map<std::string, int> model;
  for (int i = 0; i < 300; ++i) {
    const std::string t = random_topic();
    index.set(t, i);
    model[t] = i;
  }
  std::vector<std::string> filters;
  for (int i = 0; i < 300; ++i) filters.push_back(random_filter());
  for (const char* f : {"#", "+", "$x/#", "+/#", "/#", "$x"}) filters.emplace_back(f);

  auto check_all = [&] {
    CHECK(index.size() == model.size());
    Hits want_all(model.begin(), model.end());
    CHECK(all(index) == want_all);
    for (const std::string& filter : filters) {
      CAPTURE(filter);
      REQUIRE(validate_topic_filter(filter).ok());
      Hits want;
      for (const auto& [t, v] : model) {
        if (match_filter(filter, t)) want.emplace_back(t, v);
      }
      CHECK(matches(index, filter) == want);
    }
  };
  check_all();

  // Erase about half the topics (some twice: the second erase must fail).
  std::vector<std::string> keys;
  for (const auto& [t, v] : model) keys.push_back(t);
  std::shuffle(keys.begin(), keys.end(), gen.rng());
  for (size_t i = 0; i < keys.size() / 2; ++i) {
    CHECK(index.erase(keys[i]));
    CHECK_FALSE(index.erase(keys[i]));
    CHECK(index.find(keys[i]) == nullptr);
    model.erase(keys[i]);
  }
  check_all();
  for (const auto& [t, v] : model) CHECK(index.erase(t));
  model.clear();
  check_all();
  CHECK(index.node_count_for_test() == 1);
}
