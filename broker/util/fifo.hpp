// Fifo<T>: a first-in-first-out queue on one std::vector with a moving head. Unlike std::deque
// it allocates nothing until the first push (an idle session or connection costs no memory) and
// nothing per element while it is drained as fast as it fills: emptying rewinds the vector.
#pragma once

#include <cassert>
#include <cstddef>
#include <utility>
#include <vector>

namespace hydrant::util {

template <class T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  T& front() { assert(!empty()); return items_[head_]; }
  const T& front() const { assert(!empty()); return items_[head_]; }

  // Calls visit(element) from the front; for inspection, not on the hot path.
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (size_t i = head_; i < items_.size(); ++i) visit(items_[i]);
  }

  void push_back(T value) {
    if (head_ > 0 && head_ * 2 >= items_.size()) compact();
    items_.push_back(std::move(value));
  }

  void pop_front() {
    assert(!empty());
    items_[head_] = T{};  // release what the element holds now
    if (++head_ == items_.size()) clear();
  }

  void clear() {
    if (items_.capacity() > kKeepCapacity) {
      std::vector<T>().swap(items_);
    } else {
      items_.clear();
    }
    head_ = 0;
  }

 private:
  static constexpr size_t kKeepCapacity = 64;
  void compact() {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  std::vector<T> items_;
  size_t head_ = 0;
};

}  // namespace hydrant::util
