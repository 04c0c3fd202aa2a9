// Random topic names and filters over a tiny alphabet of levels ("", "$x" included), for the
// property tests that compare the trie and the retained index with match_filter().
#pragma once

#include <random>
#include <string>
#include <vector>

namespace hydrant::topics::test {

class RandomTopics {
 public:
  explicit RandomTopics(unsigned seed) : rng_(seed) {}

  std::string topic() {
    std::string t;
    const size_t depth = 1 + pick(4);
    for (size_t i = 0; i < depth; ++i) {
      if (i) t += '/';
      t += kLevels[pick(kLevels.size())];
    }
    return t.empty() ? std::string("c") : t;  // "" is not a topic name
  }

  std::string filter() {
    std::string f;
    const size_t depth = 1 + pick(4);
    for (size_t i = 0; i < depth; ++i) {
      if (i) f += '/';
      const size_t r = pick(10);
      if (r < 3) {
        f += '+';
      } else if (r == 3 && i + 1 == depth) {
        f += '#';
      } else {
        f += kLevels[pick(kLevels.size())];
      }
    }
    return f.empty() ? std::string("c") : f;  // "" is not a filter
  }

  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::mt19937& rng() { return rng_; }

 private:
  inline static const std::vector<std::string> kLevels = {"a", "b", "c", "", "$x"};
  std::mt19937 rng_;
};

}  // namespace hydrant::topics::test
