// Broker and the message log: restoring what the store recovered at start, and the once-a-second
// work (retention, snapshots, checkpoints). See broker.hpp.
#include "core/broker.hpp"

#include <algorithm>
#include <functional>

#include "topics/topic.hpp"
#include "util/log.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::core {

void Broker::restore_from_store() {
  store::DurableStore* st = store();
  if (!st) return;
  const store::DurableState& state = st->recovered_state();
  for (const auto& [topic, msg] : state.retained) router_.retain(msg);

  // Each persistent session goes back to a TCP worker (the first `threads` hosts), offline, with
  // its subscriptions.
  const uint32_t homes = std::clamp<uint32_t>(options_.threads, 1, host_count());
  struct Restored {
    session::Session* session;
    const store::StoredSession* stored;
  };
  std::vector<Restored> restored;
  uint64_t from = UINT64_MAX;
  for (const auto& [client_id, stored] : state.sessions) {
    const uint32_t w = static_cast<uint32_t>(std::hash<std::string>{}(client_id) % homes);
    // Only an owner resumes a persistent session, so its subscriptions count against the user
    // who owns its identifier.
    auto claim = registry_.claim(client_id, w, /*clean_start=*/false, access().owner_of(client_id));
    session::Session& s = hosts_[w]->restore_session(claim.handle, stored);
    restored.push_back({&s, &stored});
    for (const auto& [filter, sub] : stored.subscriptions) {
      from = std::min(from, std::max(stored.cursor, sub.start));
    }
  }
  // Then the messages each had not received: logged after its cursor and after the subscription
  // that matches them, QoS 1 or 2 both ways (QoS 0 is not kept for an offline session).
  uint64_t queued = 0;
  if (from != UINT64_MAX) {
    const auto now = fanout::Clock::now();
    st->scan(from, [&](const store::StoredMessage& m) {
      if (m.msg->qos() == 0) return;
      for (const auto& r : restored) {
        if (m.sequence <= r.stored->cursor) continue;
        for (const auto& [filter, sub] : r.stored->subscriptions) {
          if (sub.options.max_qos == 0 || m.sequence <= sub.start) continue;
          if (topics::parse_shared(filter) || !topics::match_filter(filter, m.msg->topic())) continue;
          std::vector<uint32_t> ids;
          if (sub.subscription_id) ids.push_back(sub.subscription_id);
          r.session->deliver(m.msg, sub.options.max_qos, false, std::move(ids), now);
          ++queued;
          break;  // once per session
        }
      }
    });
  }
  log::info("event=store-restored sessions={} retained={} messages_queued={}", restored.size(),
            state.retained.size(), queued);
}

void Broker::on_second() {
  trim_memory(fanout::Clock::now());
  store::DurableStore* st = store();
  if (!st) return;
  st->maintain(util::unix_ms());
  bool idle = false;
  if (!checkpoint_running_.compare_exchange_strong(idle, true)) return;
  auto c = std::make_shared<Checkpoint>();
  c->upto = st->last_sequence();
  c->remaining = host_count();
  for (auto& h : hosts_) h->post(BarrierTask{c});
}

void Broker::barrier_passed(const std::shared_ptr<Checkpoint>& c) {
  if (c->remaining.fetch_sub(1) != 1) return;
  // Three rounds: the publishing host has routed (1), the receiving hosts have queued (2), and a
  // session that moved between hosts meanwhile has its forwarded messages too (3).
  if (c->round == 3) {
    routed_watermark_.store(c->upto, std::memory_order_release);
    checkpoint_running_.store(false);
    return;
  }
  auto next = std::make_shared<Checkpoint>();
  next->upto = c->upto;
  next->round = c->round + 1;
  next->remaining = host_count();
  for (auto& h : hosts_) h->post(BarrierTask{next});
}

}  // namespace hydrant::core
