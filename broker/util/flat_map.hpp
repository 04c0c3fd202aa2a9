// FlatMap<K, V> and FlatSet<K>: sorted std::vectors with the few map/set operations sessions
// need. A session's subscriptions, in-flight packet ids and QoS 2 receipts are small sets, held
// by every connection: a vector costs 24 bytes and one allocation where std::map costs 48 bytes
// plus one node per element, and its lookups stay within a cache line or two.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

namespace hydrant::util {

template <class K, class V, class Less = std::less<>>
class FlatMap {
 public:
  using value_type = std::pair<K, V>;
  using iterator = typename std::vector<value_type>::iterator;
  using const_iterator = typename std::vector<value_type>::const_iterator;

  template <class Q>
  iterator lower_bound(const Q& key) {
    return std::lower_bound(items_.begin(), items_.end(), key,
                            [](const value_type& item, const Q& k) { return Less{}(item.first, k); });
  }
  template <class Q>
  iterator find(const Q& key) {
    auto it = lower_bound(key);
    return it != items_.end() && !Less{}(key, it->first) ? it : items_.end();
  }
  template <class Q>
  const_iterator find(const Q& key) const {
    return const_cast<FlatMap*>(this)->find(key);
  }
  template <class Q>
  bool contains(const Q& key) const {
    return find(key) != items_.end();
  }

  // Inserts, or replaces the value of an existing key; returns true when the key is new.
  bool insert_or_assign(K key, V value) {
    auto it = lower_bound(key);
    if (it != items_.end() && !Less{}(key, it->first)) {
      it->second = std::move(value);
      return false;
    }
    items_.emplace(it, std::move(key), std::move(value));
    return true;
  }

  // Inserts or replaces many at once in O((n + k) log(n + k)) rather than k shifts of the
  // vector (one SUBSCRIBE may carry 65,535 filters). Within `batch` the last of equal keys wins.
  void insert_or_assign_many(std::vector<value_type>&& batch) {
    std::stable_sort(batch.begin(), batch.end(), [](const value_type& a, const value_type& b) {
      return Less{}(a.first, b.first);
    });
    const size_t old_size = items_.size();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i + 1 < batch.size() && !Less{}(batch[i].first, batch[i + 1].first)) continue;
      auto end = items_.begin() + static_cast<std::ptrdiff_t>(old_size);
      auto it = std::lower_bound(items_.begin(), end, batch[i].first,
                                 [](const value_type& item, const K& k) { return Less{}(item.first, k); });
      if (it != end && !Less{}(batch[i].first, it->first)) {
        it->second = std::move(batch[i].second);
      } else {
        items_.push_back(std::move(batch[i]));  // the appended tail stays sorted
      }
    }
    std::inplace_merge(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(old_size),
                       items_.end(), [](const value_type& a, const value_type& b) {
                         return Less{}(a.first, b.first);
                       });
  }

  // Removes every item for which pred(const value_type&) is true, in one pass.
  template <class Pred>
  size_t erase_if(Pred pred) {
    const auto first = std::remove_if(items_.begin(), items_.end(), pred);
    const auto removed = static_cast<size_t>(items_.end() - first);
    items_.erase(first, items_.end());
    if (items_.empty()) std::vector<value_type>().swap(items_);
    return removed;
  }

  iterator erase(iterator it) {
    it = items_.erase(it);
    if (items_.empty()) {
      std::vector<value_type>().swap(items_);  // an emptied map keeps no capacity
      return items_.end();
    }
    return it;
  }
  template <class Q>
  bool erase(const Q& key) {
    auto it = find(key);
    if (it == items_.end()) return false;
    erase(it);
    return true;
  }

  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

 private:
  std::vector<value_type> items_;
};

template <class K>
class FlatSet {
 public:
  bool contains(const K& key) const { return std::binary_search(items_.begin(), items_.end(), key); }
  // Returns true when the key is new.
  bool insert(const K& key) {
    auto it = std::lower_bound(items_.begin(), items_.end(), key);
    if (it != items_.end() && *it == key) return false;
    items_.insert(it, key);
    return true;
  }
  bool erase(const K& key) {
    auto it = std::lower_bound(items_.begin(), items_.end(), key);
    if (it == items_.end() || *it != key) return false;
    items_.erase(it);
    if (items_.empty()) std::vector<K>().swap(items_);
    return true;
  }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

 private:
  std::vector<K> items_;
};

}  // namespace hydrant::util
