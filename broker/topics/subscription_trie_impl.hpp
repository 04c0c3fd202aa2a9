// Template implementation of SubscriptionTrie; included at the end of subscription_trie.hpp.
// Also holds the small helpers shared with retained_index_impl.hpp (namespace detail).
//
// Layout: one Node per filter level. A node has its literal children (LevelMap, keyed by the
// level string), `exact` for filters that end at this node, and, allocated only when needed, a
// separate '+' child, `multi` for filters that end with '#' right below it ("a/#" lives in node
// "a"'s `multi`) and shared groups. Storing '#' in the parent makes "a/#" match "a" without a
// special case.
//
// match() is the publish hot path: it walks the topic as string_views, follows at most the
// literal child and the '+' child per level, and allocates nothing unless the '+' branches
// pending at once exceed the inline stack. Deep tries (a client may subscribe to "/////...")
// are handled without recursion, in match() and in the destructor alike.
#pragma once

#include <cassert>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hydrant::topics {
namespace detail {

// Returns the level of `s` starting at `pos` and moves `pos` past it; sets `done` on the last
// level. "a/" yields "a" then "" (empty levels are real levels).
inline std::string_view next_level(std::string_view s, size_t& pos, bool& done) {
  const size_t end = s.find('/', pos);
  if (end == std::string_view::npos) {
    std::string_view level = s.substr(pos);
    pos = s.size();
    done = true;
    return level;
  }
  std::string_view level = s.substr(pos, end - pos);
  pos = end + 1;
  return level;
}

struct LevelHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// Children of a trie node keyed by level. Most nodes have a handful of children, so a vector
// scanned linearly (no hashing, one cache line of sizes) serves until kLinearMax; past that the
// children move to a hash map with heterogeneous lookup (no std::string built to look up).
template <class Node>
class LevelMap {
 public:
  static constexpr size_t kLinearMax = 8;

  Node* find(std::string_view level) const {
    if (big_) {
      auto it = big_->find(level);
      return it == big_->end() ? nullptr : it->second.get();
    }
    for (const auto& [name, child] : small_) {
      if (name == level) return child.get();
    }
    return nullptr;
  }

  Node& find_or_create(std::string_view level) {
    if (Node* found = find(level)) return *found;
    auto child = std::make_unique<Node>();
    Node& ref = *child;
    if (!big_ && small_.size() < kLinearMax) {
      small_.emplace_back(std::string(level), std::move(child));
      return ref;
    }
    if (!big_) {
      big_ = std::make_unique<Map>();
      for (auto& [name, node] : small_) big_->emplace(std::move(name), std::move(node));
      small_.clear();
      small_.shrink_to_fit();
    }
    big_->emplace(std::string(level), std::move(child));
    return ref;
  }

  void erase(std::string_view level) {
    if (big_) {
      auto it = big_->find(level);
      if (it != big_->end()) big_->erase(it);
      if (big_->empty()) big_.reset();
      return;
    }
    for (auto it = small_.begin(); it != small_.end(); ++it) {
      if (it->first == level) {
        small_.erase(it);
        return;
      }
    }
  }

  bool empty() const { return big_ ? big_->empty() : small_.empty(); }

  // f(std::string_view level, const Node& child) for every child.
  template <class F>
  void for_each(F&& f) const {
    if (big_) {
      for (const auto& [name, child] : *big_) f(std::string_view(name), *child);
    } else {
      for (const auto& [name, child] : small_) f(std::string_view(name), *child);
    }
  }

  // Moves every child out through f(std::unique_ptr<Node>&&), leaving the map empty. Lets a
  // destructor tear a deep trie down without recursion.
  template <class F>
  void drain(F&& f) {
    if (big_) {
      for (auto& entry : *big_) f(std::move(entry.second));
      big_.reset();
    }
    for (auto& entry : small_) f(std::move(entry.second));
    small_.clear();
  }

 private:
  using Map = std::unordered_map<std::string, std::unique_ptr<Node>, LevelHash, std::equal_to<>>;
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> small_;
  std::unique_ptr<Map> big_;
};

// Destroys a trie of nodes with `children` (LevelMap) and optionally more owned children
// (collected by `extra`) iteratively, so that depth cannot overflow the stack.
template <class Node, class Extra>
void destroy_trie(std::unique_ptr<Node> root, Extra&& extra) {
  std::vector<std::unique_ptr<Node>> pending;
  if (root) pending.push_back(std::move(root));
  while (!pending.empty()) {
    std::unique_ptr<Node> node = std::move(pending.back());
    pending.pop_back();
    node->children.drain([&](std::unique_ptr<Node>&& child) { pending.push_back(std::move(child)); });
    extra(*node, pending);
  }
}

// A LIFO stack that keeps its first N items inline and spills to the heap only past that.
// Items spilled are always the newest, so pop() takes from the spill first.
template <class T, size_t N>
class SmallStack {
 public:
  void push(const T& v) {
    if (n_ < N) {
      inline_[n_++] = v;
    } else {
      spill_.push_back(v);
    }
  }
  bool empty() const { return n_ == 0; }
  T pop() {
    if (!spill_.empty()) {
      T v = spill_.back();
      spill_.pop_back();
      return v;
    }
    return inline_[--n_];
  }

 private:
  T inline_[N];
  size_t n_ = 0;
  std::vector<T> spill_;
};

}  // namespace detail

template <class Key, class Value>
struct SubscriptionTrie<Key, Value>::Node {
  // What most nodes never need: a '+' child, '#' filters, shared groups. Kept behind one pointer
  // so that a plain leaf (one subscriber, "a/b/c") is a small allocation: a broker with a
  // subscription per connection has as many leaves as connections.
  struct Extra {
    std::unique_ptr<Node> plus;
    std::vector<Entry> multi;  // non-shared filters ending with "/#" below this node ("#" at root)
    std::vector<std::unique_ptr<SharedGroup>> exact_groups;  // shared, ending at this node
    std::vector<std::unique_ptr<SharedGroup>> multi_groups;  // shared, ending with "/#" below
    bool empty() const {
      return !plus && multi.empty() && exact_groups.empty() && multi_groups.empty();
    }
  };

  detail::LevelMap<Node> children;
  std::vector<Entry> exact;  // non-shared filters ending at this node, one per key
  std::unique_ptr<Extra> extra;

  Extra& ensure_extra() {
    if (!extra) extra = std::make_unique<Extra>();
    return *extra;
  }
  const Node* plus() const { return extra ? extra->plus.get() : nullptr; }
  void trim() {
    if (extra && extra->empty()) extra.reset();
  }
  bool empty() const { return children.empty() && exact.empty() && !extra; }
};

template <class Key, class Value>
SubscriptionTrie<Key, Value>::SubscriptionTrie() : root_(std::make_unique<Node>()) {}

template <class Key, class Value>
SubscriptionTrie<Key, Value>::~SubscriptionTrie() {
  detail::destroy_trie(std::move(root_), [](Node& node, std::vector<std::unique_ptr<Node>>& pending) {
    if (node.extra && node.extra->plus) pending.push_back(std::move(node.extra->plus));
  });
}

template <class Key, class Value>
size_t SubscriptionTrie<Key, Value>::node_count_for_test() const {
  size_t count = 0;
  std::vector<const Node*> pending{root_.get()};
  while (!pending.empty()) {
    const Node* node = pending.back();
    pending.pop_back();
    ++count;
    node->children.for_each([&](std::string_view, const Node& child) { pending.push_back(&child); });
    if (const Node* plus = node->plus()) pending.push_back(plus);
  }
  return count;
}

template <class Key, class Value>
bool SubscriptionTrie<Key, Value>::insert(std::string_view filter, std::string_view share_group,
                                          const Key& key, Value value) {
  assert(!filter.empty());
  Node* node = root_.get();
  bool multi = false;  // the filter ends with '#': its subscriptions live in this node's extra
  size_t pos = 0;
  bool done = false;
  while (!done) {
    const std::string_view level = detail::next_level(filter, pos, done);
    if (level == "#") {
      assert(done && "'#' must be the last level");
      multi = true;
      break;
    }
    if (level == "+") {
      auto& plus = node->ensure_extra().plus;
      if (!plus) plus = std::make_unique<Node>();
      node = plus.get();
    } else {
      node = &node->children.find_or_create(level);
    }
  }

  std::vector<Entry>* entries = nullptr;
  if (share_group.empty()) {
    entries = multi ? &node->ensure_extra().multi : &node->exact;
  } else {
    auto& groups = multi ? node->ensure_extra().multi_groups : node->ensure_extra().exact_groups;
    SharedGroup* group = nullptr;
    for (auto& g : groups) {
      if (g->name == share_group) {
        group = g.get();
        break;
      }
    }
    if (!group) {
      groups.push_back(std::make_unique<SharedGroup>());
      group = groups.back().get();
      group->name = std::string(share_group);
    }
    entries = &group->members;
  }
  for (Entry& e : *entries) {
    if (e.key == key) {
      e.value = std::move(value);
      return false;
    }
  }
  entries->push_back(Entry{key, std::move(value)});
  ++size_;
  return true;
}

template <class Key, class Value>
bool SubscriptionTrie<Key, Value>::erase_entry(Node& node, bool multi, std::string_view share_group,
                                               const Key& key) {
  if (share_group.empty()) {
    auto& entries = multi ? node.extra->multi : node.exact;
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].key != key) continue;
      // Order among non-shared entries carries no meaning: swap and pop.
      if (i + 1 != entries.size()) entries[i] = std::move(entries.back());
      entries.pop_back();
      if (entries.empty()) std::vector<Entry>().swap(entries);  // a leaf keeps no capacity
      return true;
    }
    return false;
  }
  auto& groups = multi ? node.extra->multi_groups : node.extra->exact_groups;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (groups[g]->name != share_group) continue;
    auto& members = groups[g]->members;
    bool removed = false;
    for (auto it = members.begin(); it != members.end(); ++it) {
      if (it->key == key) {
        members.erase(it);  // keep order: the round-robin cursor walks it
        removed = true;
        break;
      }
    }
    if (members.empty()) groups.erase(groups.begin() + static_cast<std::ptrdiff_t>(g));
    return removed;
  }
  return false;
}

template <class Key, class Value>
bool SubscriptionTrie<Key, Value>::erase(std::string_view filter, std::string_view share_group,
                                         const Key& key) {
  // Path from the root, for pruning: each step is (parent, level taken from it).
  std::vector<std::pair<Node*, std::string_view>> path;
  Node* node = root_.get();
  bool multi = false;
  size_t pos = 0;
  bool done = false;
  while (!done) {
    const std::string_view level = detail::next_level(filter, pos, done);
    if (level == "#") {
      multi = true;
      break;
    }
    Node* child = level == "+" ? (node->extra ? node->extra->plus.get() : nullptr)
                               : node->children.find(level);
    if (!child) return false;
    path.emplace_back(node, level);
    node = child;
  }
  if ((multi || !share_group.empty()) && !node->extra) return false;

  if (!erase_entry(*node, multi, share_group, key)) return false;
  --size_;
  node->trim();

  // Prune nodes left empty, deepest first; the root stays.
  while (!path.empty() && node->empty()) {
    auto [parent, level] = path.back();
    path.pop_back();
    if (level == "+") {
      parent->extra->plus.reset();
      parent->trim();
    } else {
      parent->children.erase(level);
    }
    node = parent;
  }
  return true;
}

template <class Key, class Value>
template <class Visit, class VisitGroup>
void SubscriptionTrie<Key, Value>::match(std::string_view topic, Visit&& visit,
                                         VisitGroup&& visit_group) const {
  // [MQTT-4.7.2-1]: filters whose first level is '+' or '#' skip topics starting with '$'.
  const bool dollar = !topic.empty() && topic.front() == '$';
  auto visit_subs = [&](const std::vector<Entry>& entries,
                        const std::vector<std::unique_ptr<SharedGroup>>& groups) {
    for (const Entry& e : entries) visit(e.key, e.value);
    for (const auto& g : groups) visit_group(*g);
  };

  struct Frame {
    const Node* node;
    size_t pos;  // offset of the next topic level
    bool done;   // no topic level left
  };
  detail::SmallStack<Frame, 16> pending;
  pending.push(Frame{root_.get(), 0, false});
  while (!pending.empty()) {
    Frame f = pending.pop();
    const Node* node = f.node;
    bool wildcards_ok = !(dollar && node == root_.get());
    // Follow the literal chain in this loop; '+' branches go on the stack.
    for (;;) {
      const auto* extra = node->extra.get();
      // "x/#" matches "x" and everything below.
      if (extra && wildcards_ok) visit_subs(extra->multi, extra->multi_groups);
      if (f.done) {
        for (const Entry& e : node->exact) visit(e.key, e.value);
        if (extra) for (const auto& g : extra->exact_groups) visit_group(*g);
        break;
      }
      const std::string_view level = detail::next_level(topic, f.pos, f.done);
      if (extra && extra->plus && wildcards_ok) {
        pending.push(Frame{extra->plus.get(), f.pos, f.done});
      }
      node = node->children.find(level);
      if (!node) break;
      wildcards_ok = true;
    }
  }
}

}  // namespace hydrant::topics
