// Deliveries: the webhook server's bridge from "an HTTP request holds an event" to "the broker
// confirmed it". deliver() publishes through the Publisher and blocks the calling (HTTP handler)
// thread until the broker's PUBACK, a refusal, the timeout or stop(). Bugzilla retries a delivery
// that got no 2xx, with the same body; so a body identical to one still awaiting confirmation
// joins that publish instead of queueing a second copy, and a body confirmed within the last
// `remember` period is answered as done at once (it is on the bus already). Bodies are compared
// whole, never by hash: two different events are never merged.
// What it does not do: HTTP, parsing, or any retry of its own (the Publisher re-sends).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <string_view>
#include <unordered_set>

#include "publisher.hpp"

namespace hydrant::publishers {

class Deliveries {
 public:
  enum class Outcome { Confirmed, AlreadyConfirmed, Refused, TimedOut, Stopping };
  struct Result {
    Outcome outcome;
    std::string why;  // Refused: the broker's reason
  };
  struct Limits {
    std::chrono::milliseconds remember{std::chrono::minutes(20)};  // > Bugzilla's 15 min retry
    size_t remember_count = 1024;
    size_t remember_bytes = 32u << 20;
  };

  Deliveries(Publisher& publisher, Limits limits) : publisher_(publisher), limits_(limits) {}

  // Blocks up to `timeout` (less once stop() was called). `body` identifies the delivery.
  // Called from any number of HTTP handler threads at once.
  Result deliver(const std::string& body, std::string topic, std::string payload,
                 std::chrono::milliseconds timeout);
  // Waiters answer within `grace` from now; later deliver() calls return Stopping at once.
  // Does not block; any thread.
  void stop(std::chrono::milliseconds grace);

 private:
  struct Pending {
    bool done = false;
    bool ok = false;
    std::string why;
  };
  void on_done(const std::string& body, const std::shared_ptr<Pending>& p, bool ok, const std::string& why);
  void forget_old(std::chrono::steady_clock::time_point now);  // mutex_ held

  Publisher& publisher_;
  const Limits limits_;
  std::mutex mutex_;
  std::condition_variable settled_;
  std::unordered_map<std::string, std::shared_ptr<Pending>> pending_;  // by body
  // Recent confirmed bodies, oldest first; the set views the strings the deque owns (a deque
  // keeps its elements in place when either end grows or shrinks).
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> confirmed_order_;
  std::unordered_set<std::string_view> confirmed_;
  size_t confirmed_bytes_ = 0;
  std::optional<std::chrono::steady_clock::time_point> stop_deadline_;
};

}  // namespace hydrant::publishers
