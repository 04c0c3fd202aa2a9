// Template implementation of RetainedIndex; included at the end of retained_index.hpp.
//
// A trie over topic levels. Children are in a detail::SortedLevelMap (a std::map by level), not
// the hashed detail::LevelMap of SubscriptionTrie: match_after() needs a stable order to resume
// in, and the retained index is not on the publish hot path (only retained publishes write it).
// A node that holds a retained message also keeps the full topic string, so that match() and
// for_each() hand out the topic as a view without rebuilding it from the levels. Walks are
// iterative (retained topics are untrusted and may be very deep); match() runs on SUBSCRIBE,
// not per publish, so its small heap stack is acceptable.
#pragma once

#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "topics/subscription_trie.hpp"  // detail::LevelMap, next_level, destroy_trie

namespace hydrant::topics {
namespace detail {

// Children of a RetainedIndex node, sorted by level (bytes, as std::string compares), with the
// interface destroy_trie() and the walks use, plus the map itself for ordered iteration.
template <class Node>
class SortedLevelMap {
 public:
  using Map = std::map<std::string, std::unique_ptr<Node>, std::less<>>;

  Node* find(std::string_view level) const {
    auto it = map_.find(level);
    return it == map_.end() ? nullptr : it->second.get();
  }
  Node& find_or_create(std::string_view level) {
    auto it = map_.lower_bound(level);
    if (it == map_.end() || it->first != level) {
      it = map_.emplace_hint(it, std::string(level), std::make_unique<Node>());
    }
    return *it->second;
  }
  void erase(std::string_view level) {
    auto it = map_.find(level);
    if (it != map_.end()) map_.erase(it);
  }
  bool empty() const { return map_.empty(); }
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [name, child] : map_) f(std::string_view(name), *child);
  }
  template <class F>
  void drain(F&& f) {
    for (auto& entry : map_) f(std::move(entry.second));
    map_.clear();
  }
  const Map& map() const { return map_; }

 private:
  Map map_;
};

}  // namespace detail

template <class Value>
struct RetainedIndex<Value>::Node {
  struct Stored {
    std::string topic;
    Value value;
  };
  detail::SortedLevelMap<Node> children;
  std::optional<Stored> stored;

  bool empty() const { return !stored && children.empty(); }
};

template <class Value>
RetainedIndex<Value>::RetainedIndex() : root_(std::make_unique<Node>()) {}

template <class Value>
RetainedIndex<Value>::~RetainedIndex() {
  detail::destroy_trie(std::move(root_), [](Node&, std::vector<std::unique_ptr<Node>>&) {});
}

template <class Value>
size_t RetainedIndex<Value>::node_count_for_test() const {
  size_t count = 0;
  std::vector<const Node*> pending{root_.get()};
  while (!pending.empty()) {
    const Node* node = pending.back();
    pending.pop_back();
    ++count;
    node->children.for_each([&](std::string_view, const Node& child) { pending.push_back(&child); });
  }
  return count;
}

template <class Value>
void RetainedIndex<Value>::set(std::string_view topic, Value value) {
  Node* node = root_.get();
  size_t pos = 0;
  bool done = false;
  while (!done) node = &node->children.find_or_create(detail::next_level(topic, pos, done));
  if (node->stored) {
    node->stored->value = std::move(value);
    return;
  }
  node->stored.emplace(typename Node::Stored{std::string(topic), std::move(value)});
  ++size_;
}

template <class Value>
bool RetainedIndex<Value>::erase(std::string_view topic) {
  std::vector<std::pair<Node*, std::string_view>> path;  // (parent, level taken), for pruning
  Node* node = root_.get();
  size_t pos = 0;
  bool done = false;
  while (!done) {
    const std::string_view level = detail::next_level(topic, pos, done);
    Node* child = node->children.find(level);
    if (!child) return false;
    path.emplace_back(node, level);
    node = child;
  }
  if (!node->stored) return false;
  node->stored.reset();
  --size_;
  while (!path.empty() && node->empty()) {
    auto [parent, level] = path.back();
    path.pop_back();
    parent->children.erase(level);
    node = parent;
  }
  return true;
}

template <class Value>
const Value* RetainedIndex<Value>::find(std::string_view topic) const {
  const Node* node = root_.get();
  size_t pos = 0;
  bool done = false;
  while (!done) {
    node = node->children.find(detail::next_level(topic, pos, done));
    if (!node) return nullptr;
  }
  return node->stored ? &node->stored->value : nullptr;
}

template <class Value>
template <class Visit>
void RetainedIndex<Value>::match(std::string_view filter, Visit&& visit) const {
  // [MQTT-4.7.2-1]: a wildcard first level skips root children whose level starts with '$'.
  auto skip_at_root = [](const Node* node, const Node* root, std::string_view level) {
    return node == root && !level.empty() && level.front() == '$';
  };
  std::vector<const Node*> subtree;  // nodes whose whole subtree matches ('#')
  struct Frame {
    const Node* node;
    size_t pos;  // offset of the next filter level
    bool done;   // no filter level left
  };
  std::vector<Frame> pending;
  pending.push_back(Frame{root_.get(), 0, filter.empty()});
  while (!pending.empty()) {
    Frame f = pending.back();
    pending.pop_back();
    if (f.done) {
      if (f.node->stored) visit(std::string_view(f.node->stored->topic), f.node->stored->value);
      continue;
    }
    const std::string_view level = detail::next_level(filter, f.pos, f.done);
    if (level == "#") {
      // "a/#" matches "a" itself and everything below it.
      if (f.node == root_.get()) {
        f.node->children.for_each([&](std::string_view child_level, const Node& child) {
          if (!skip_at_root(f.node, root_.get(), child_level)) subtree.push_back(&child);
        });
      } else {
        subtree.push_back(f.node);
      }
    } else if (level == "+") {
      f.node->children.for_each([&](std::string_view child_level, const Node& child) {
        if (!skip_at_root(f.node, root_.get(), child_level)) {
          pending.push_back(Frame{&child, f.pos, f.done});
        }
      });
    } else if (const Node* child = f.node->children.find(level)) {
      pending.push_back(Frame{child, f.pos, f.done});
    }
  }
  while (!subtree.empty()) {
    const Node* node = subtree.back();
    subtree.pop_back();
    if (node->stored) visit(std::string_view(node->stored->topic), node->stored->value);
    node->children.for_each([&](std::string_view, const Node& child) { subtree.push_back(&child); });
  }
}

namespace detail {

// The state of one match_after() walk: depth first over the sorted children, a node before its
// children, which is topic order. One frame per level walked holds the range of children still
// to visit and what they must match: Literal (the one child named by the filter level), Plus
// (every child) or All (every child and everything below: the filter reached '#').
template <class Node>
class OrderedFilterWalk {
 public:
  using Map = typename SortedLevelMap<Node>::Map;
  using Iter = typename Map::const_iterator;
  enum class Mode : uint8_t { Literal, Plus, All };
  struct Frame {
    const Map* children;
    Iter next;  // the children still to visit: [next, end)
    Iter end;
    size_t pos;  // Literal/Plus: offset of the filter level below the children's
    Mode mode;
    bool done;         // Literal/Plus: the children's filter level is the last one
    bool skip_dollar;  // the root's children under a wildcard [MQTT-4.7.2-1]
  };

  OrderedFilterWalk(const Node* root, std::string_view filter) : root_(root), filter_(filter) {
    bool root_matches = false;  // the root is no topic
    stack_.push_back(frame_for(root, 0, root_matches));
  }

  // Leaves only what comes after `after` to visit: descends along its levels, keeping at each
  // level only the children after its level, and going on into its level's child (whose
  // subtree holds the topics below `after`, all after it).
  void skip_to_after(std::string_view after) {
    size_t apos = 0;
    bool adone = false;
    while (true) {
      const std::string_view level = next_level(after, apos, adone);
      Frame& f = stack_.back();
      const Node* on_path = nullptr;
      if (f.mode == Mode::Literal) {
        if (f.next != f.end) {
          if (f.next->first == level) on_path = f.next->second.get();
          if (f.next->first <= level) f.next = f.end;
        }
      } else {
        const Iter it = f.children->find(level);
        if (it != f.children->end() && !skipped(f, level)) on_path = it->second.get();
        f.next = f.children->upper_bound(level);
      }
      if (!on_path) return;
      bool matches = false;  // on_path is `after` or above it: not after it
      std::optional<Frame> below = enter(f, on_path, matches);
      if (!below) return;
      stack_.push_back(*below);  // invalidates f
      if (adone) return;
    }
  }

  // The next node whose topic matches (it may hold no message), or null at the end.
  const Node* next_match() {
    while (!stack_.empty()) {
      Frame& f = stack_.back();
      while (f.next != f.end && skipped(f, f.next->first)) ++f.next;
      if (f.next == f.end) {
        stack_.pop_back();
        continue;
      }
      const Node* child = f.next->second.get();
      ++f.next;
      bool matches = false;
      std::optional<Frame> below = enter(f, child, matches);
      if (below && below->next != below->end) stack_.push_back(*below);  // invalidates f
      if (matches) return child;
    }
    return nullptr;
  }

 private:
  // The frame for `node`'s children, given the filter level at `pos`. Sets `hash` when that
  // level is '#' (then `node` itself matches too: "a/#" matches "a").
  Frame frame_for(const Node* node, size_t pos, bool& hash) const {
    const Map& children = node->children.map();
    bool done = false;
    const std::string_view level = next_level(filter_, pos, done);
    hash = level == "#";
    if (hash) return Frame{&children, children.begin(), children.end(), 0, Mode::All, true, node == root_};
    if (level == "+") {
      return Frame{&children, children.begin(), children.end(), pos, Mode::Plus, done, node == root_};
    }
    const Iter it = children.find(level);
    return Frame{&children, it, it == children.end() ? it : std::next(it), pos, Mode::Literal, done,
                 false};
  }
  // Entering `child` from `parent`'s range: whether the child's topic matches the filter, and
  // the frame for its children when some of them may.
  std::optional<Frame> enter(const Frame& parent, const Node* child, bool& matches) const {
    if (parent.mode == Mode::All) {
      matches = true;
      const Map& children = child->children.map();
      return Frame{&children, children.begin(), children.end(), 0, Mode::All, true, false};
    }
    matches = parent.done;
    if (parent.done) return std::nullopt;
    return frame_for(child, parent.pos, matches);
  }
  static bool skipped(const Frame& f, std::string_view level) {
    return f.skip_dollar && !level.empty() && level.front() == '$';
  }

  const Node* root_;
  std::string_view filter_;
  std::vector<Frame> stack_;
};

}  // namespace detail

// Topic order, resumable after `after`: see detail::OrderedFilterWalk.
template <class Value>
template <class Visit>
bool RetainedIndex<Value>::match_after(std::string_view filter, std::string_view after,
                                       size_t limit, Visit&& visit) const {
  if (limit == 0) return false;
  detail::OrderedFilterWalk<Node> walk(root_.get(), filter);
  if (!after.empty()) walk.skip_to_after(after);
  size_t visited = 0;
  while (const Node* node = walk.next_match()) {
    if (!node->stored) continue;
    visit(std::string_view(node->stored->topic), node->stored->value);
    if (++visited == limit) return false;
  }
  return true;
}

template <class Value>
template <class Visit>
void RetainedIndex<Value>::for_each(Visit&& visit) const {
  std::vector<const Node*> pending{root_.get()};
  while (!pending.empty()) {
    const Node* node = pending.back();
    pending.pop_back();
    if (node->stored) visit(std::string_view(node->stored->topic), node->stored->value);
    node->children.for_each([&](std::string_view, const Node& child) { pending.push_back(&child); });
  }
}

}  // namespace hydrant::topics
