// FailureBudget: how many failed authentications an address may still make (issue 13, "guessing
// tokens"). A token bucket per address: `burst` failures at once, then one more every
// `refill_seconds`. Once an address is out of budget the broker refuses its credentialed CONNECTs
// before looking at the password, so guessing costs the guesser a round trip and the broker
// almost nothing. IPv6 addresses count per /64 (one host holds a whole /64); IPv4 per address.
//
// Memory is bounded: at most `max_addresses` entries. When the table is full, entries whose
// bucket has refilled are dropped; if none has, a new address is not tracked (it is allowed) —
// an attacker with more addresses than the table holds already has other ways to spread.
// Thread-safe (one mutex; touched only by CONNECTs with credentials).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "util/peer_address.hpp"

namespace hydrant::auth {

struct FailureBudgetOptions {
  uint32_t burst = 10;           // failures allowed at once; 0 = no budget (never refuse)
  uint32_t refill_seconds = 6;   // one failure more per this many seconds
  size_t max_addresses = 65536;  // table bound
};

class FailureBudget {
 public:
  explicit FailureBudget(FailureBudgetOptions options) : options_(options) {}

  // False when `peer` has no failures left at `now_ms` (steady milliseconds).
  bool allows(const util::PeerAddress& peer, int64_t now_ms);
  // One failed authentication from `peer`.
  void record_failure(const util::PeerAddress& peer, int64_t now_ms);

  size_t tracked() const;

 private:
  using Key = std::array<uint8_t, 9>;  // family + IPv4 address or IPv6 /64
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept;
  };
  struct Bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
  };
  static Key key_of(const util::PeerAddress& peer);
  void refill(Bucket& b, int64_t now_ms) const;
  void make_room(int64_t now_ms);

  FailureBudgetOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<Key, Bucket, KeyHash> buckets_;
};

// Refused CONNECTs from one address log one line per `period_ms`; the refusals in between are
// only counted and reported on the next line (issue 13: a client that reconnects in a loop must
// not write the log for us). Bounded like FailureBudget; an untracked address always logs.
class RefusalLogLimit {
 public:
  explicit RefusalLogLimit(int64_t period_ms = 10000, size_t max_addresses = 65536)
      : period_ms_(period_ms), max_addresses_(max_addresses) {}
  // One refusal from `peer`: returns 0 when its line is suppressed, else 1 + the number of
  // refusals suppressed since the address's last line.
  uint64_t due(const util::PeerAddress& peer, int64_t now_ms);

 private:
  struct Entry {
    int64_t last_ms = 0;
    uint64_t suppressed = 0;
  };
  int64_t period_ms_;
  size_t max_addresses_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace hydrant::auth
