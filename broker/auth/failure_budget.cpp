#include "auth/failure_budget.hpp"

#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>

namespace hydrant::auth {

size_t FailureBudget::KeyHash::operator()(const Key& k) const noexcept {
  return std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
}

FailureBudget::Key FailureBudget::key_of(const util::PeerAddress& peer) {
  Key key{};
  key[0] = static_cast<uint8_t>(peer.family);
  const size_t n = peer.family == util::PeerAddress::Family::V4 ? 4 : 8;  // IPv6: the /64
  std::copy_n(peer.bytes.begin(), n, key.begin() + 1);
  return key;
}

void FailureBudget::refill(Bucket& b, int64_t now_ms) const {
  const double per_ms = 1.0 / (1000.0 * std::max<uint32_t>(options_.refill_seconds, 1));
  b.tokens = std::min<double>(options_.burst, b.tokens + (now_ms - b.updated_ms) * per_ms);
  b.updated_ms = now_ms;
}

bool FailureBudget::allows(const util::PeerAddress& peer, int64_t now_ms) {
  if (options_.burst == 0) return true;
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key_of(peer));
  if (it == buckets_.end()) return true;
  refill(it->second, now_ms);
  return it->second.tokens >= 1.0;
}

void FailureBudget::record_failure(const util::PeerAddress& peer, int64_t now_ms) {
  if (options_.burst == 0) return;
  std::lock_guard lock(mutex_);
  const Key key = key_of(peer);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_addresses) make_room(now_ms);
    if (buckets_.size() >= options_.max_addresses) return;  // full of active guessers: untracked
    it = buckets_.emplace(key, Bucket{double(options_.burst), now_ms}).first;
  }
  refill(it->second, now_ms);
  it->second.tokens = std::max(0.0, it->second.tokens - 1.0);
}

// Drops every address whose bucket has refilled: it is as if it had never failed.
void FailureBudget::make_room(int64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now_ms);
    it = it->second.tokens >= options_.burst ? buckets_.erase(it) : std::next(it);
  }
}

size_t FailureBudget::tracked() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

uint64_t RefusalLogLimit::due(const util::PeerAddress& peer, int64_t now_ms) {
  const std::string key(reinterpret_cast<const char*>(peer.bytes.data()), peer.bytes.size());
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= max_addresses_) {
      std::erase_if(entries_, [&](auto& e) { return now_ms - e.second.last_ms >= period_ms_; });
    }
    if (entries_.size() < max_addresses_) entries_.emplace(key, Entry{now_ms, 0});
    return 1;
  }
  Entry& e = it->second;
  if (now_ms - e.last_ms < period_ms_) {
    ++e.suppressed;
    return 0;
  }
  const uint64_t n = 1 + e.suppressed;
  e = Entry{now_ms, 0};
  return n;
}

}  // namespace hydrant::auth
