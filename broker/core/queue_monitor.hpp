// QueueMonitor: PulseGuardian's watch over durable queues, built in. Once a second each host
// looks at its queues (persistent sessions named queue/<owner>/<name>): past the warning level
// the owner is told once, and again when the queue recovers; a queue that stays at its limit
// (where the overflow policy drops its oldest messages) for the configured time is deleted unless
// an admin marked it unbounded, and the owner is told. The monitor only decides; the host sends
// the notices and ends the sessions. It also produces the summaries the admin API lists.
// One monitor serves the whole broker (thread-safe), since a queue moves to another host when
// its client reconnects there, and its warning state must move with it.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/user_db.hpp"
#include "metrics/queue_summary.hpp"
#include "router/session_handle.hpp"
#include "session/session.hpp"

namespace hydrant::core {

using metrics::QueueSummary;

struct QueuePolicy {
  uint32_t limit = 10000;             // max-queued-messages
  uint32_t warning_percent = 80;
  uint32_t overlimit_timeout_s = 3600;  // 0 = never delete
};

// A message for a queue's owner: on $SYS/hydrant/notices/<owner>, in the log, and to the
// notify command.
struct Notice {
  std::string owner;
  std::string kind;   // queue-warning, queue-recovered, queue-deleted
  std::string queue;  // the client identifier
  size_t queued = 0;
  size_t limit = 0;
  std::string text;   // one sentence for people
};

class QueueMonitor {
 public:
  // Looks at one queue session (called for each, once a second); appends notices and, when the
  // queue must be deleted, returns true.
  bool check(const session::Session& s, std::string_view owner, const QueuePolicy& policy,
             const auth::UserTable& users, fanout::Clock::time_point now,
             std::vector<Notice>& notices, QueueSummary& summary);
  // Forgets queues no host has checked for a few seconds (ended).
  void sweep(fanout::Clock::time_point now);

 private:
  struct State {
    bool warned = false;
    fanout::Clock::time_point full_since = session::kNever;
    fanout::Clock::time_point seen{};
    uint64_t delivered = 0;  // the session's count at the previous check
    double rate = 0;         // messages/s, exponentially smoothed
    // The session's count now: moves the rate on.
    void sample(uint64_t delivered_now, fanout::Clock::time_point now);
  };
  std::mutex mutex_;
  std::unordered_map<router::SessionId, State> states_;
};

}  // namespace hydrant::core
