// RetainedIndex<Value>: retained messages by topic name, and the lookup of every retained topic
// that a filter matches (on SUBSCRIBE). A trie over topic levels, so a filter like "a/+/c" walks
// only the matching branches. Filters whose first level is a wildcard skip topics starting with
// '$' [MQTT-4.7.2-1]. Not thread-safe by itself; the caller serialises access.
//
// Children are kept sorted (unlike SubscriptionTrie's), so that matches can also be listed in a
// deterministic order and resumed: match_after() hands out the matches in "topic order" (level by
// level, each level compared as bytes, a topic before the topics below it) strictly after a
// given topic, a chunk at a time. Retained replay after SUBSCRIBE pulls chunks as the client
// reads, so that it never holds more than one chunk per filter (session/session.hpp).
//
// IMPLEMENTATION: see retained_index_impl.hpp (template code), included at the end.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace hydrant::topics {

template <class Value>
class RetainedIndex {
 public:
  RetainedIndex();
  ~RetainedIndex();
  RetainedIndex(const RetainedIndex&) = delete;
  RetainedIndex& operator=(const RetainedIndex&) = delete;

  // Stores or replaces the value for a valid topic name.
  void set(std::string_view topic, Value value);
  // Removes the value; returns true when one existed. Prunes empty nodes.
  bool erase(std::string_view topic);
  // The value stored for `topic`, or nullptr.
  const Value* find(std::string_view topic) const;
  // Calls visit(std::string_view topic, const Value&) for every stored topic matching the valid,
  // non-shared `filter`.
  template <class Visit>
  void match(std::string_view filter, Visit&& visit) const;
  // The same matches in topic order, starting strictly after the topic `after` ("" = from the
  // first), at most `limit` of them (visit as above). Returns true when the walk reached the end
  // (no match after the last one visited); false when it stopped at `limit` (there may be more:
  // call again with the last topic visited). `after` need not be stored (it may have been
  // erased since), so a cursor survives any change to the index between calls.
  template <class Visit>
  bool match_after(std::string_view filter, std::string_view after, size_t limit,
                   Visit&& visit) const;
  // Calls visit(std::string_view topic, const Value&) for every stored topic.
  template <class Visit>
  void for_each(Visit&& visit) const;
  size_t size() const { return size_; }

  // Trie nodes currently allocated, root included (1 when empty). Checks pruning in tests.
  size_t node_count_for_test() const;

 private:
  struct Node;
  std::unique_ptr<Node> root_;
  size_t size_ = 0;
};

}  // namespace hydrant::topics

#include "topics/retained_index_impl.hpp"
