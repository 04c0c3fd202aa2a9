// SubscriptionTrie<Key, Value>: the subscription index. Maps topic filters (with '+' and '#') to
// subscribers, and a topic name to every subscription whose filter matches it, in time
// proportional to the topic's depth and the matches, never a scan of all subscriptions.
// Shared subscriptions ($share/<group>/<filter>) are kept per (filter, group) with a round-robin
// cursor so that the caller can pick one member per message.
//
// Keyed by a caller-chosen Key (an id; tests use ints), never by connection pointers. Not
// thread-safe by itself: the caller serialises insert/erase against match. match() is const
// except for the shared groups' cursors, which are atomics so that concurrent matches under a
// shared (reader) lock are safe.
//
// IMPLEMENTATION: see subscription_trie_impl.hpp (template code), included at the end.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hydrant::topics {

template <class Key, class Value>
class SubscriptionTrie {
 public:
  struct Entry {
    Key key;
    Value value;
  };
  // Members of one shared subscription group on one filter.
  struct SharedGroup {
    std::string name;
    std::vector<Entry> members;
    mutable std::atomic<uint32_t> cursor{0};  // round-robin position, advanced by the caller
  };

  SubscriptionTrie();
  ~SubscriptionTrie();
  SubscriptionTrie(const SubscriptionTrie&) = delete;
  SubscriptionTrie& operator=(const SubscriptionTrie&) = delete;

  // Adds `key`'s subscription to `filter`, or replaces its value if `key` already has one on the
  // same (filter, share_group). `filter` is a valid non-shared filter (for a shared subscription
  // pass the part after the group and the group name in `share_group`; empty = not shared).
  // Returns true when the subscription is new.
  bool insert(std::string_view filter, std::string_view share_group, const Key& key, Value value);

  // Removes `key`'s subscription on (filter, share_group). Returns true when one existed.
  // Prunes nodes left empty so that memory follows the live subscriptions.
  bool erase(std::string_view filter, std::string_view share_group, const Key& key);

  // For a valid topic name: calls visit(const Key&, const Value&) for every matching non-shared
  // subscription (a key subscribed through several matching filters is visited once per filter;
  // the caller merges), and visit_group(const SharedGroup&) once per matching shared group.
  template <class Visit, class VisitGroup>
  void match(std::string_view topic, Visit&& visit, VisitGroup&& visit_group) const;

  // Number of subscriptions held (shared members included).
  size_t size() const { return size_; }

  // Trie nodes currently allocated, root included (1 when empty). Checks pruning in tests.
  size_t node_count_for_test() const;

 private:
  struct Node;
  // Removes `key`'s entry at `node` (its '#' entries when `multi`); false when it has none.
  static bool erase_entry(Node& node, bool multi, std::string_view share_group, const Key& key);
  std::unique_ptr<Node> root_;
  size_t size_ = 0;
};

}  // namespace hydrant::topics

#include "topics/subscription_trie_impl.hpp"
