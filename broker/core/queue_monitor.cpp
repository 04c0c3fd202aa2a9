// QueueMonitor; see queue_monitor.hpp.
#include "core/queue_monitor.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace hydrant::core {

namespace {

int64_t unix_seconds_at(fanout::Clock::time_point when, fanout::Clock::time_point now) {
  const auto wall = std::chrono::system_clock::now() -
                    std::chrono::duration_cast<std::chrono::system_clock::duration>(now - when);
  return std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count();
}

// What the session itself says about its queue: who, connected, depth and bindings.
void summarize(const session::Session& s, std::string_view owner, QueueSummary& summary) {
  summary.client_id = s.client_id();
  summary.owner = owner;
  summary.connected = s.link() != nullptr;
  summary.queued = s.queued();
  summary.inflight = s.inflight();
  summary.bindings.clear();
  for (const auto& [filter, rec] : s.subscriptions()) summary.bindings.push_back(filter);
}

}  // namespace

bool QueueMonitor::check(const session::Session& s, std::string_view owner,
                         const QueuePolicy& policy, const auth::UserTable& users,
                         fanout::Clock::time_point now, std::vector<Notice>& notices,
                         QueueSummary& summary) {
  std::lock_guard lock(mutex_);
  const auto [it, first] = states_.try_emplace(s.id());
  State& st = it->second;
  if (first) {
    // A queue is first seen within a sweep of its creation: what it received so far arrived
    // during that last second, and counts toward its rate.
    st.seen = now - std::chrono::seconds(1);
  }
  st.sample(s.delivered(), now);
  const size_t queued = s.queued();
  const size_t limit = policy.limit;
  const size_t warning_level = std::max<size_t>(1, limit * policy.warning_percent / 100);
  const auth::UserRecord* user = users.find(owner);
  const bool unbounded =
      user && std::find(user->unbounded_queues.begin(), user->unbounded_queues.end(),
                        s.client_id()) != user->unbounded_queues.end();
  auto notice = [&](const char* kind, std::string text) {
    notices.push_back(Notice{std::string(owner), kind, s.client_id(), queued, limit, std::move(text)});
  };

  if (!st.warned && queued >= warning_level) {
    st.warned = true;
    notice("queue-warning", fmt::format("queue {} holds {} of {} messages ({}% or more); past the "
                                        "limit the oldest are dropped",
                                        s.client_id(), queued, limit, policy.warning_percent));
  } else if (st.warned && queued < warning_level) {
    st.warned = false;
    notice("queue-recovered", fmt::format("queue {} is back to {} of {} messages", s.client_id(),
                                          queued, limit));
  }
  if (queued >= limit) {
    if (st.full_since == session::kNever) st.full_since = now;
  } else {
    st.full_since = session::kNever;
  }
  bool remove = false;
  if (st.full_since != session::kNever && !unbounded && policy.overlimit_timeout_s > 0 &&
      now - st.full_since >= std::chrono::seconds(policy.overlimit_timeout_s)) {
    remove = true;
    notice("queue-deleted", fmt::format("queue {} stayed at its limit of {} messages for {} s and "
                                        "was deleted", s.client_id(), limit,
                                        policy.overlimit_timeout_s));
  }

  summarize(s, owner, summary);
  summary.limit = limit;
  summary.warning = queued >= warning_level;
  summary.unbounded = unbounded;
  summary.rate = st.rate;
  summary.full_since =
      !remove && st.full_since != session::kNever ? unix_seconds_at(st.full_since, now) : 0;
  return remove;
}

void QueueMonitor::State::sample(uint64_t delivered_now, fanout::Clock::time_point now) {
  if (now > seen && delivered_now >= delivered) {
    const double seconds = std::chrono::duration<double>(now - seen).count();
    const double current = static_cast<double>(delivered_now - delivered) / seconds;
    rate = 0.5 * rate + 0.5 * current;  // smooths the once-a-second samples
  }
  delivered = delivered_now;
  seen = now;
}

void QueueMonitor::sweep(fanout::Clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::erase_if(states_, [&](const auto& entry) {
    return now - entry.second.seen > std::chrono::seconds(5);
  });
}

}  // namespace hydrant::core
