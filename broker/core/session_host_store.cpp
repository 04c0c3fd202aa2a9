// SessionHost and the message log: appending an exchange's messages and confirming them once
// durable, recording persistent sessions and how far they have their messages, replaying stored
// messages to a new subscription, and restoring sessions at start. See session_host.hpp.
#include <algorithm>

#include "core/broker.hpp"
#include "core/session_host.hpp"
#include "util/log.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::core {

using session::Session;

bool SessionHost::logs(std::string_view topic) const {
  return store_ && store::ExchangeLog::logs(topic);
}

bool SessionHost::log_writable() const { return !store_ || store_->healthy(); }

fanout::MessageRef SessionHost::log_message(session::ClientLink& link, const MessageFactory& make,
                                            bool confirm, uint16_t packet_id, uint8_t qos,
                                            std::span<const std::string> cc) {
  store::ExchangeLog::Completion done;
  if (confirm) {
    // Runs on the log's flusher thread: the answer goes back to this host's loop.
    done = [this, conn = link.conn_id(), packet_id, qos](uint64_t, bool ok) {
      post(ConfirmTask{conn, packet_id, qos, ok});
    };
  }
  return store_->append_message(make, util::unix_ms(), std::move(done), cc);
}

void SessionHost::handle_confirm(const ConfirmTask& t) {
  if (auto* link = link_for(t.conn_id)) link->confirm_publish(t.packet_id, t.qos, t.ok);
}

void SessionHost::session_attached(Session& s) {
  if (!store_ || s.expiry_interval() == 0) return;
  const bool first = s.store_incarnation() == 0;
  s.set_store_incarnation(store_->session_open(s.client_id(), s.store_incarnation(), s.version(),
                                               s.expiry_interval()));
  // A session resumed from before the store knew it: its subscriptions too.
  if (first) {
    for (const auto& [filter, rec] : s.subscriptions()) {
      store_->subscribe(s.client_id(), filter, rec.options, rec.subscription_id);
    }
  }
}

void SessionHost::record_cursors() {
  if (!store_) return;
  const uint64_t watermark = broker_.routed_watermark();
  for (auto& [id, s] : sessions_) {
    if (!s->store_incarnation() || s->subscriptions().empty()) continue;
    const uint64_t lowest = s->lowest_pending_sequence();
    const uint64_t cursor = std::min(watermark, lowest == UINT64_MAX ? UINT64_MAX : lowest - 1);
    if (s->advance_cursor(cursor)) store_->cursor(s->client_id(), cursor);
  }
}

std::optional<session::Services::ReplayResult> SessionHost::replay(
    Session& s, std::string_view filter, std::string_view from, std::vector<fanout::MessageRef>& out) {
  if (!store_) return std::nullopt;
  ReplayResult result;
  store::HistoryQuery q;
  q.filter = std::string(filter);
  if (!store::parse_since(from, q, /*allow_last=*/true)) {
    result.complete = false;
    result.gap = "replay must be a position (<epoch>-<sequence>), a time or last:N";
    return result;
  }
  const size_t room = std::max<size_t>(1, limits_.max_queued_messages);
  q.limit = room;
  if (q.last) q.last = std::min(*q.last, room);
  // Live messages of this filter reach the session from now on (it is in the router already);
  // those logged before now that it also gets live are skipped by their sequence.
  const uint64_t seam = store_->last_sequence();
  store::HistoryPage page = store_->read(q);
  result.complete = page.complete;
  result.gap = page.gap;
  if (page.more) {
    result.complete = false;
    result.gap = "more stored messages than the session's queue holds (max-queued-messages)";
  }
  for (auto& m : page.messages) {
    // Only those near the seam can also arrive live; a few hundred back covers every host's
    // message that was logged but not yet routed when the subscription went in.
    if (m.sequence + 1024 > seam) s.note_replayed(m.sequence);
    out.push_back(std::move(m.msg));
  }
  result.count = out.size();
  return result;
}

Session& SessionHost::restore_session(const router::HandleRef& handle,
                                      const store::StoredSession& stored) {
  Session& s = new_session(handle);
  s.restore(stored.version, stored.expiry_interval, fanout::Clock::now());
  s.set_store_incarnation(stored.incarnation);
  s.advance_cursor(stored.cursor);
  for (const auto& [filter, sub] : stored.subscriptions) {
    s.subscribe(filter, session::SubscriptionRecord{sub.options, sub.subscription_id});
    broker_.router().subscribe(filter, s.handle(), sub.options, sub.subscription_id);
  }
  return s;
}

}  // namespace hydrant::core
