// Template implementation of RetainedIndex; included at the end of retained_index.hpp.
//
// A trie over topic levels (detail::LevelMap children, shared with SubscriptionTrie). A node
// that holds a retained message also keeps the full topic string, so that match() and
// for_each() hand out the topic as a view without rebuilding it from the levels. Walks are
// iterative (retained topics are untrusted and may be very deep); match() runs on SUBSCRIBE,
// not per publish, so its small heap stack is acceptable.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "topics/subscription_trie.hpp"  // detail::LevelMap, next_level, destroy_trie

namespace hydrant::topics {

template <class Value>
struct RetainedIndex<Value>::Node {
  struct Stored {
    std::string topic;
    Value value;
  };
  detail::LevelMap<Node> children;
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
