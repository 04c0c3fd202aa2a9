// SubscriptionTrie with plain int keys (uWS tests/TopicTree.cpp style): insert / replace / erase
// / prune / size, shared groups, and a property test against match_filter().
#include "topics/subscription_trie.hpp"

#include <doctest.h>

#include "random_topics.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "topics/topic.hpp"

using namespace hydrant::topics;

namespace {

using Trie = SubscriptionTrie<int, int>;

// Keys visited for `topic`, sorted (a key subscribed through two filters appears twice).
std::vector<int> keys(const Trie& trie, std::string_view topic) {
  std::vector<int> out;
  trie.match(
      topic, [&](const int& key, const int&) { out.push_back(key); },
      [&](const Trie::SharedGroup&) {});
  std::sort(out.begin(), out.end());
  return out;
}

// Names of the shared groups visited for `topic`, sorted, one entry per visit.
std::vector<std::string> groups(const Trie& trie, std::string_view topic) {
  std::vector<std::string> out;
  trie.match(
      topic, [](const int&, const int&) {},
      [&](const Trie::SharedGroup& g) { out.push_back(g.name); });
  std::sort(out.begin(), out.end());
  return out;
}

using Keys = std::vector<int>;

}  // namespace

TEST_CASE("SubscriptionTrie: insert, replace, match") {
  Trie trie;
  CHECK(trie.size() == 0);
  CHECK(trie.node_count_for_test() == 1);
  CHECK(trie.insert("a/b", "", 1, 10));
  CHECK(trie.insert("a/+", "", 2, 20));
  CHECK(trie.insert("a/#", "", 3, 30));
  CHECK(trie.insert("#", "", 4, 40));
  CHECK(trie.insert("+/b", "", 5, 50));
  CHECK(trie.insert("a/b", "", 6, 60));
  CHECK(trie.size() == 6);

  CHECK(keys(trie, "a/b") == Keys{1, 2, 3, 4, 5, 6});
  CHECK(keys(trie, "a/c") == Keys{2, 3, 4});
  CHECK(keys(trie, "a") == Keys{3, 4});  // "a/#" matches the parent level
  CHECK(keys(trie, "a/b/c") == Keys{3, 4});
  CHECK(keys(trie, "x/b") == Keys{4, 5});
  CHECK(keys(trie, "$SYS/b") == Keys{});
  CHECK(keys(trie, "a/") == Keys{2, 3, 4});

  SUBCASE("insert on an existing key replaces the value") {
    CHECK_FALSE(trie.insert("a/b", "", 1, 11));
    CHECK(trie.size() == 6);
    int seen = 0;
    trie.match(
        "a/b",
        [&](const int& key, const int& value) {
          if (key == 1) seen = value;
        },
        [](const Trie::SharedGroup&) {});
    CHECK(seen == 11);
  }
  SUBCASE("same key on several filters is visited once per filter") {
    CHECK(trie.insert("a/+", "", 1, 12));
    CHECK(trie.insert("+/+", "", 1, 13));
    CHECK(keys(trie, "a/b") == Keys{1, 1, 1, 2, 3, 4, 5, 6});
  }
}

TEST_CASE("SubscriptionTrie: erase and prune") {
  Trie trie;
  CHECK(trie.insert("a/b/c", "", 1, 0));
  CHECK(trie.insert("a/+/c", "", 2, 0));
  CHECK(trie.insert("a/b/#", "", 3, 0));
  CHECK(trie.insert("$share/x", "", 4, 0));  // just a filter with a '$' first level here
  CHECK(trie.insert("a/b/c", "g", 5, 0));
  CHECK(trie.size() == 5);
  const size_t full_nodes = trie.node_count_for_test();
  CHECK(full_nodes == 8);  // root, a, a/b, a/b/c, a/+, a/+/c, $share, $share/x

  CHECK_FALSE(trie.erase("a/b/c", "", 9));    // unknown key
  CHECK_FALSE(trie.erase("a/b/d", "", 1));    // unknown filter
  CHECK_FALSE(trie.erase("a/b/c/#", "", 1));  // unknown filter below an existing node
  CHECK_FALSE(trie.erase("a/b/c", "h", 5));   // unknown group
  CHECK_FALSE(trie.erase("a/b/c", "", 5));    // shared member, not plain
  CHECK(trie.node_count_for_test() == full_nodes);

  CHECK(trie.erase("a/b/c", "", 1));
  CHECK_FALSE(trie.erase("a/b/c", "", 1));
  CHECK(trie.size() == 4);
  CHECK(trie.node_count_for_test() == full_nodes);  // the group still holds a/b/c
  CHECK(keys(trie, "a/b/c") == Keys{2, 3});

  CHECK(trie.erase("a/b/c", "g", 5));
  CHECK(trie.node_count_for_test() == full_nodes - 1);  // a/b/c pruned, a/b holds "a/b/#"
  CHECK(trie.erase("a/+/c", "", 2));
  CHECK(trie.node_count_for_test() == full_nodes - 3);
  CHECK(trie.erase("a/b/#", "", 3));
  CHECK(trie.node_count_for_test() == 3);
  CHECK(trie.erase("$share/x", "", 4));
  CHECK(trie.size() == 0);
  CHECK(trie.node_count_for_test() == 1);
  CHECK(keys(trie, "a/b/c").empty());

  // The trie works again after being emptied.
  CHECK(trie.insert("#", "", 7, 0));
  CHECK(keys(trie, "q") == Keys{7});
  CHECK(trie.erase("#", "", 7));
  CHECK(trie.node_count_for_test() == 1);
}

TEST_CASE("SubscriptionTrie: many children (vector to hash map and back)") {
  Trie trie;
  for (int i = 0; i < 100; ++i) CHECK(trie.insert("t/" + std::to_string(i), "", i, i));
  CHECK(trie.size() == 100);
  CHECK(trie.node_count_for_test() == 102);
  for (int i = 0; i < 100; ++i) CHECK(keys(trie, "t/" + std::to_string(i)) == Keys{i});
  CHECK(keys(trie, "t/100").empty());
  for (int i = 0; i < 100; i += 2) CHECK(trie.erase("t/" + std::to_string(i), "", i));
  for (int i = 0; i < 100; ++i) {
    CHECK(keys(trie, "t/" + std::to_string(i)) == (i % 2 ? Keys{i} : Keys{}));
  }
  for (int i = 1; i < 100; i += 2) CHECK(trie.erase("t/" + std::to_string(i), "", i));
  CHECK(trie.node_count_for_test() == 1);
}

TEST_CASE("SubscriptionTrie: $ topics") {
  Trie trie;
  CHECK(trie.insert("#", "", 1, 0));
  CHECK(trie.insert("+/x", "", 2, 0));
  CHECK(trie.insert("$SYS/#", "", 3, 0));
  CHECK(trie.insert("$SYS/+", "", 4, 0));
  CHECK(trie.insert("+/#", "", 5, 0));
  CHECK(trie.insert("#", "g", 6, 0));
  CHECK(keys(trie, "$SYS/x") == Keys{3, 4});
  CHECK(keys(trie, "$SYS") == Keys{3});
  CHECK(groups(trie, "$SYS/x").empty());
  CHECK(keys(trie, "a/x") == Keys{1, 2, 5});
  CHECK(groups(trie, "a/x") == std::vector<std::string>{"g"});
  CHECK(keys(trie, "a/$SYS") == Keys{1, 5});  // '$' only matters in the first level
}

TEST_CASE("SubscriptionTrie: shared groups are visited once per group") {
  Trie trie;
  CHECK(trie.insert("a/+", "g1", 1, 0));
  CHECK(trie.insert("a/+", "g1", 2, 0));
  CHECK(trie.insert("a/+", "g2", 3, 0));
  CHECK(trie.insert("a/#", "g1", 4, 0));  // same group name, other filter: another group
  CHECK(trie.insert("a/+", "", 5, 0));
  CHECK_FALSE(trie.insert("a/+", "g1", 2, 7));  // replace within a group
  CHECK(trie.size() == 5);

  std::vector<std::pair<std::string, std::vector<int>>> seen;
  std::vector<int> plain;
  trie.match(
      "a/b", [&](const int& key, const int&) { plain.push_back(key); },
      [&](const Trie::SharedGroup& g) {
        std::vector<int> members;
        for (const auto& e : g.members) members.push_back(e.key);
        seen.emplace_back(g.name, members);
      });
  std::sort(seen.begin(), seen.end());
  CHECK(plain == Keys{5});
  REQUIRE(seen.size() == 3);
  CHECK(seen[0] == std::make_pair(std::string("g1"), Keys{1, 2}));  // members keep their order
  CHECK(seen[1] == std::make_pair(std::string("g1"), Keys{4}));
  CHECK(seen[2] == std::make_pair(std::string("g2"), Keys{3}));

  SUBCASE("round-robin cursor is usable through a const match") {
    std::vector<int> picks;
    for (int i = 0; i < 4; ++i) {
      trie.match(
          "a/b", [](const int&, const int&) {},
          [&](const Trie::SharedGroup& g) {
            if (g.name != "g1" || g.members.size() != 2) return;
            const uint32_t at = g.cursor.fetch_add(1, std::memory_order_relaxed);
            picks.push_back(g.members[at % g.members.size()].key);
          });
    }
    CHECK(picks == Keys{1, 2, 1, 2});
  }
  SUBCASE("erasing the last member removes the group") {
    CHECK(trie.erase("a/+", "g2", 3));
    CHECK(groups(trie, "a/b") == std::vector<std::string>{"g1", "g1"});
    CHECK(trie.erase("a/+", "g1", 1));
    CHECK(trie.erase("a/+", "g1", 2));
    CHECK(trie.erase("a/#", "g1", 4));
    CHECK(groups(trie, "a/b").empty());
    CHECK(trie.erase("a/+", "", 5));
    CHECK(trie.node_count_for_test() == 1);
  }
}

TEST_CASE("SubscriptionTrie: deep filters and topics do not recurse") {
  // 65,535 bytes is the longest topic MQTT allows: all separators, so 65,536 empty levels.
  const std::string deep(65535, '/');
  Trie trie;
  CHECK(trie.insert(deep, "", 1, 0));
  CHECK(trie.insert(deep + "#", "", 2, 0));
  std::string plus_deep;
  for (int i = 0; i < 2000; ++i) plus_deep += "+/";
  plus_deep += "#";
  CHECK(trie.insert(plus_deep, "", 3, 0));
  CHECK(keys(trie, deep) == Keys{1, 2, 3});
  CHECK(keys(trie, deep.substr(0, 100)) == Keys{});
  // Destroyed with the trie: must not overflow the stack either.
}

TEST_CASE("SubscriptionTrie: property test against match_filter") {
  test::RandomTopics gen(20240501);
  auto pick = [&](size_t n) { return gen.pick(n); };
  auto random_topic = [&] { return gen.topic(); };
  auto random_filter = [&] { return gen.filter(); };

  struct Sub {
    std::string filter;
    std::string group;  // empty: not shared
    int key;
  };
  std::vector<Sub> subs;
  Trie trie;
  for (int key = 0; key < 400; ++key) {
    Sub s{random_filter(), pick(4) == 0 ? "g" + std::to_string(pick(2)) : "", key};
    REQUIRE(validate_topic_filter(s.filter).ok());
    CHECK(trie.insert(s.filter, s.group, s.key, key * 2));
    subs.push_back(std::move(s));
  }
  std::vector<std::string> topics;
  for (int i = 0; i < 400; ++i) topics.push_back(random_topic());
  topics.push_back("$x");
  topics.push_back("/");
  topics.push_back("$x/a/b/c");

  auto check_all = [&] {
    CHECK(trie.size() == subs.size());
    for (const std::string& topic : topics) {
      CAPTURE(topic);
      Keys want_plain;
      // Shared: (filter, group) -> member keys; the trie must visit each group exactly once.
      std::map<std::pair<std::string, std::string>, Keys> want_groups;
      for (const Sub& s : subs) {
        if (!match_filter(s.filter, topic)) continue;
        if (s.group.empty()) {
          want_plain.push_back(s.key);
        } else {
          want_groups[{s.filter, s.group}].push_back(s.key);
        }
      }
      std::sort(want_plain.begin(), want_plain.end());
      std::multiset<Keys> want_sets;
      for (auto& [k, members] : want_groups) {
        std::sort(members.begin(), members.end());
        want_sets.insert(members);
      }

      Keys got_plain;
      std::multiset<Keys> got_sets;
      std::set<const Trie::SharedGroup*> got_ptrs;
      size_t group_visits = 0;
      bool values_ok = true;
      trie.match(
          topic,
          [&](const int& key, const int& value) {
            got_plain.push_back(key);
            values_ok = values_ok && value == key * 2;
          },
          [&](const Trie::SharedGroup& g) {
            ++group_visits;
            got_ptrs.insert(&g);
            Keys members;
            for (const auto& e : g.members) members.push_back(e.key);
            std::sort(members.begin(), members.end());
            got_sets.insert(members);
          });
      std::sort(got_plain.begin(), got_plain.end());
      CHECK(values_ok);
      CHECK(got_plain == want_plain);
      CHECK(group_visits == got_ptrs.size());  // no group visited twice
      CHECK(got_sets == want_sets);
    }
  };
  check_all();

  // Erase a random half, check again, then erase the rest: the trie must prune to the root.
  std::shuffle(subs.begin(), subs.end(), gen.rng());
  for (size_t i = 0; i < 200; ++i) CHECK(trie.erase(subs[i].filter, subs[i].group, subs[i].key));
  subs.erase(subs.begin(), subs.begin() + 200);
  check_all();
  for (const Sub& s : subs) CHECK(trie.erase(s.filter, s.group, s.key));
  subs.clear();
  CHECK(trie.size() == 0);
  CHECK(trie.node_count_for_test() == 1);
}
