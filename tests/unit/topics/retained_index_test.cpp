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

// ---- match_after: matches in topic order, a chunk at a time --------------------------------

namespace {

std::vector<std::string> levels_of(std::string_view topic) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    const size_t end = topic.find('/', pos);
    out.emplace_back(topic.substr(pos, end == std::string_view::npos ? end : end - pos));
    if (end == std::string_view::npos) return out;
    pos = end + 1;
  }
}

// Topic order: level by level (bytes), a topic before the topics below it.
bool topic_less(std::string_view a, std::string_view b) { return levels_of(a) < levels_of(b); }

// One call of match_after, in the order it visits.
Hits chunk(const Index& index, std::string_view filter, std::string_view after, size_t limit,
           bool* end = nullptr) {
  Hits out;
  const bool e = index.match_after(filter, after, limit, [&](std::string_view topic, const int& v) {
    out.emplace_back(topic, v);
  });
  if (end) *end = e;
  return out;
}

// Every match, taken `limit` at a time, resuming after the last topic of each chunk.
Hits in_chunks(const Index& index, std::string_view filter, size_t limit) {
  Hits out;
  std::string after;
  for (int calls = 0; calls < 100000; ++calls) {
    bool end = false;
    Hits part = chunk(index, filter, after, limit, &end);
    CHECK(part.size() <= limit);
    if (!end) CHECK(part.size() == limit);
    out.insert(out.end(), part.begin(), part.end());
    if (!part.empty()) after = part.back().first;
    if (end) return out;
  }
  FAIL("match_after never reached the end");
  return out;
}

// What match_after must return: the model's matches after `after`, in topic order, `limit` of them.
Hits expected(const std::map<std::string, int>& model, std::string_view filter,
              std::string_view after, size_t limit) {
  Hits want;
  for (const auto& [t, v] : model) {
    if (match_filter(filter, t) && (after.empty() || topic_less(after, t))) want.emplace_back(t, v);
  }
  std::sort(want.begin(), want.end(),
            [](const auto& a, const auto& b) { return topic_less(a.first, b.first); });
  if (want.size() > limit) want.resize(limit);
  return want;
}

}  // namespace

TEST_CASE("RetainedIndex: match_after lists matches in topic order") {
  Index index;
  // "a-c" sorts before "a/b" as strings ('-' < '/') but after it level by level ("a" < "a-c").
  const char* topics[] = {"a-c", "a/b", "a", "a/b/c", "a//x", "b", "$SYS/x", "$SYS", "/a", "a/$x"};
  int v = 0;
  for (const char* t : topics) index.set(t, v++);
  bool end = false;
  CHECK(chunk(index, "#", "", 100, &end) ==
        Hits{{"/a", 8}, {"a", 2}, {"a//x", 4}, {"a/$x", 9}, {"a/b", 1}, {"a/b/c", 3}, {"a-c", 0},
             {"b", 5}});
  CHECK(end);
  CHECK(chunk(index, "+", "", 100) == Hits{{"a", 2}, {"a-c", 0}, {"b", 5}});  // not "$SYS"
  CHECK(chunk(index, "a/#", "", 100) ==
        Hits{{"a", 2}, {"a//x", 4}, {"a/$x", 9}, {"a/b", 1}, {"a/b/c", 3}});
  CHECK(chunk(index, "a/+", "", 100) == Hits{{"a/$x", 9}, {"a/b", 1}});
  CHECK(chunk(index, "+/+", "", 100) == Hits{{"/a", 8}, {"a/$x", 9}, {"a/b", 1}});
  CHECK(chunk(index, "$SYS/#", "", 100) == Hits{{"$SYS", 7}, {"$SYS/x", 6}});
  CHECK(chunk(index, "+/x", "", 100).empty());
  CHECK(chunk(index, "a/b", "", 100) == Hits{{"a/b", 1}});
  CHECK(chunk(index, "nothing/#", "", 100, &end).empty());
  CHECK(end);

  // Limits and resumption: strictly after the topic given, stored or not.
  CHECK(chunk(index, "#", "", 2, &end) == Hits{{"/a", 8}, {"a", 2}});
  CHECK_FALSE(end);
  CHECK(chunk(index, "#", "a", 2) == Hits{{"a//x", 4}, {"a/$x", 9}});
  CHECK(chunk(index, "#", "a/b", 100) == Hits{{"a/b/c", 3}, {"a-c", 0}, {"b", 5}});
  CHECK(chunk(index, "#", "a/a/zzz", 2) == Hits{{"a/b", 1}, {"a/b/c", 3}});  // not stored
  CHECK(chunk(index, "#", "a/c", 100) == Hits{{"a-c", 0}, {"b", 5}});
  CHECK(chunk(index, "a/#", "a/b/c", 100, &end).empty());
  CHECK(end);
  CHECK(chunk(index, "a/#", "a", 100) == Hits{{"a//x", 4}, {"a/$x", 9}, {"a/b", 1}, {"a/b/c", 3}});
  CHECK(chunk(index, "a/+", "a/$x", 100) == Hits{{"a/b", 1}});
  CHECK(chunk(index, "a/b", "a/b", 100).empty());
  CHECK(chunk(index, "a/b", "a", 100) == Hits{{"a/b", 1}});
  CHECK(chunk(index, "#", "b", 100, &end).empty());
  CHECK(end);
  // After "$SYS": not "/a" (level "" sorts before "$SYS"), and '#' skips "$SYS/x" anyway.
  CHECK(chunk(index, "#", "$SYS", 100).size() == 7);
  CHECK(chunk(index, "$SYS/#", "$SYS", 100) == Hits{{"$SYS/x", 6}});
  // A chunk that ends on the last match does not know it yet; the next call says so.
  CHECK(chunk(index, "#", "a-c", 1, &end) == Hits{{"b", 5}});
  CHECK_FALSE(end);
  CHECK(chunk(index, "#", "b", 1, &end).empty());
  CHECK(end);
  CHECK(chunk(index, "#", "", 0, &end).empty());
  CHECK_FALSE(end);

  for (size_t limit : {1, 2, 3, 7, 100}) {
    CAPTURE(limit);
    CHECK(in_chunks(index, "#", limit) == chunk(index, "#", "", 100));
    CHECK(in_chunks(index, "+/+", limit) == chunk(index, "+/+", "", 100));
  }
}

TEST_CASE("RetainedIndex: match_after across changes between chunks") {
  Index index;
  for (int i = 0; i < 100; ++i) index.set("t/" + std::to_string(1000 + i), i);
  Hits first = chunk(index, "t/+", "", 10);
  REQUIRE(first.size() == 10);
  CHECK(first.back().first == "t/1009");
  // The cursor's own topic erased, topics added before it (not sent: the subscriber would have
  // had them live) and after it, one in the middle replaced.
  CHECK(index.erase("t/1009"));
  CHECK(index.erase("t/1010"));
  index.set("t/1005a", -1);
  index.set("t/1009a", -2);
  index.set("t/1050", 500);
  index.set("t/1050/below", -3);
  Hits next = chunk(index, "t/+", "t/1009", 3);
  CHECK(next == Hits{{"t/1009a", -2}, {"t/1011", 11}, {"t/1012", 12}});
  Hits rest = chunk(index, "t/+", next.back().first, 1000);
  CHECK(rest.size() == 100 - 13);
  CHECK(rest[37] == std::pair<std::string, int>{"t/1050", 500});
  // The whole index emptied between chunks: the walk just ends.
  for (int i = 0; i < 100; ++i) index.erase("t/" + std::to_string(1000 + i));
  index.erase("t/1005a");
  index.erase("t/1009a");
  index.erase("t/1050/below");
  bool end = false;
  CHECK(chunk(index, "t/+", "t/1012", 10, &end).empty());
  CHECK(end);
  CHECK(index.node_count_for_test() == 1);
}

TEST_CASE("RetainedIndex: match_after on very deep topics") {
  const std::string deep(65535, '/');  // 65,536 empty levels
  const std::string deeper = deep + "x";
  Index index;
  index.set(deep, 1);
  index.set(deep.substr(1) + "y", 2);  // one level less, then "y"
  index.set("x", 3);
  index.set(deeper + "/z", 4);
  CHECK(in_chunks(index, "#", 1) ==
        Hits{{deep, 1}, {deeper + "/z", 4}, {deep.substr(1) + "y", 2}, {"x", 3}});
  CHECK(chunk(index, "#", deep, 1) == Hits{{deeper + "/z", 4}});
  CHECK(chunk(index, "#", deeper, 10) == Hits{{deeper + "/z", 4}, {deep.substr(1) + "y", 2}, {"x", 3}});
  CHECK(chunk(index, deep, "", 10) == Hits{{deep, 1}});
  CHECK(chunk(index, deep, deep, 10).empty());
  CHECK(chunk(index, "+/#", "", 10).size() == 4);  // "x" is one level: "+/#" matches it too
}

TEST_CASE("RetainedIndex: match_after property test against match_filter") {
  test::RandomTopics gen(11);
  Index index;
  std::map<std::string, int> model;
  for (int i = 0; i < 300; ++i) {
    const std::string t = gen.topic();
    index.set(t, i);
    model[t] = i;
  }
  std::vector<std::string> filters;
  for (int i = 0; i < 150; ++i) filters.push_back(gen.filter());
  for (const char* f : {"#", "+", "$x/#", "+/#", "/#", "$x", "+/+"}) filters.emplace_back(f);
  std::vector<std::string> afters{""};
  for (int i = 0; i < 20; ++i) afters.push_back(gen.topic());  // stored or not
  for (const std::string& filter : filters) {
    CAPTURE(filter);
    CHECK(in_chunks(index, filter, 1) == expected(model, filter, "", SIZE_MAX));
    CHECK(in_chunks(index, filter, 4) == expected(model, filter, "", SIZE_MAX));
    for (const std::string& after : afters) {
      CAPTURE(after);
      CHECK(chunk(index, filter, after, 5) == expected(model, filter, after, 5));
    }
  }
}
