// SessionHost and the message log: appending an exchange's messages and confirming them once
// durable, recording persistent sessions and how far they have their messages, replaying stored
// messages to a new subscription, and restoring sessions at start. See session_host.hpp.
#include <algorithm>
#include <map>

#include "core/broker.hpp"
#include "core/session_host.hpp"
#include "store/records.hpp"
#include "topics/topic.hpp"
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
                                            std::span<const std::string> cc, bool resent) {
  store::ExchangeLog::Completion done;
  if (confirm) {
    // Runs on the log's flusher thread: the answer goes back to this host's loop.
    done = [this, conn = link.conn_id(), packet_id, qos](uint64_t, bool ok) {
      post(ConfirmTask{conn, packet_id, qos, ok});
    };
  }
  store::PublishOrigin origin;
  if (qos > 0 && store_->deduplicates()) origin = {publish_id(link, packet_id), resent};
  return store_->append_message(make, util::unix_ms(), std::move(done), cc, origin);
}

std::string SessionHost::publish_id(session::ClientLink& link, uint16_t packet_id) const {
  // A persistent session is the same on every node (its incarnation moves with it), so a
  // re-send through another node carries the same id; a clean one lives as long as its
  // connection. The packet id is reused by the client: the message's own hash tells its uses
  // apart (and a log that finds a new PUBLISH equal to an old one stores it again).
  const Session* s = link.session();
  const uint64_t incarnation = s ? s->store_incarnation() : 0;
  return incarnation ? fmt::format("s{:x}:{}", incarnation, packet_id)
                     : fmt::format("c{}.{}:{}", index_, link.conn_id(), packet_id);
}

void SessionHost::handle_confirm(const ConfirmTask& t) {
  if (auto* link = link_for(t.conn_id)) link->confirm_publish(t.packet_id, t.qos, t.ok);
}

void SessionHost::session_attached(Session& s) {
  if (!store_) return;
  if (s.expiry_interval() != 0) {
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
  if (s.will() || s.store_incarnation()) record_will(s);
}

void SessionHost::record_will(Session& s) {
  const auto& will = s.will();
  s.set_store_incarnation(store_->session_will(s.client_id(), s.store_incarnation(), s.version(),
                                               s.expiry_interval(), will ? will->msg.get() : nullptr,
                                               will ? will->delay : 0));
}

void SessionHost::publish_will(Session& s) {
  const fanout::MessageRef msg = s.take_will();
  if (!msg) return;
  if (store_ && s.store_incarnation()) record_will(s);  // gone: no other node publishes it
  if (!logs(msg->topic())) {
    publish(msg);
    return;
  }
  // A will to an exchange is one of its messages: in its history, and in a cluster on every node.
  auto make = [&msg](uint64_t sequence, std::string_view) {
    return sequence == 0 ? msg : store::decode_message(store::encode_message(*msg), sequence);
  };
  if (auto routed = store_->append_message(make, util::unix_ms())) publish(routed);
}

void SessionHost::adopt_session(const std::string& client_id, const store::StoredSession& stored) {
  if (broker_.registry().find(client_id)) return;  // its client is back, here, already
  auto claim = broker_.registry().claim(client_id, index_, /*clean_start=*/false,
                                        broker_.access().owner_of(client_id));
  Session& s = restore_session(claim.handle, stored);
  const size_t queued = queue_stored_messages(s, stored);
  log::info("host={} client=\"{}\" event=session-adopted will={} messages_queued={}", index_, client_id,
            stored.will.empty() ? "none" : "kept", queued);
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
  if (!stored.will.empty()) {
    // Its client was connected when the node that had it stopped: gone now, so the will is due.
    if (auto will = store::decode_message(stored.will, 0)) s.restore_will({will, stored.will_delay}, fanout::Clock::now());
  }
  for (const auto& [filter, sub] : stored.subscriptions) {
    s.subscribe(filter, session::SubscriptionRecord{sub.options, sub.subscription_id});
    broker_.router().subscribe(filter, s.handle(), sub.options, sub.subscription_id);
  }
  return s;
}

void SessionHost::finish_take(uint64_t conn_id, const std::string& client_id,
                              const store::TakenSession& taken) {
  using Outcome = store::TakenSession::Outcome;
  session::ClientLink* link = link_for(conn_id);
  if (link && link->state() != session::LinkState::AwaitSession) link = nullptr;
  if (taken.outcome == Outcome::Unavailable) {
    if (link) {
      link->refuse_session(ReasonCode::ServerUnavailable, "the cluster's engine did not answer; try again");
      close_link(conn_id);
    }
    return;
  }
  // Another connection of this client id opened a session here meanwhile: that one counts.
  if (taken.outcome == Outcome::None || broker_.registry().find(client_id)) {
    if (link) open_local_session(*link, /*clean_start=*/false);
    return;
  }
  auto claim = broker_.registry().claim(client_id, index_, /*clean_start=*/false,
                                        broker_.access().owner_of(client_id));
  Session& s = restore_session(claim.handle, taken.session);
  const size_t queued = queue_stored_messages(s, taken.session);
  log::info("host={} client=\"{}\" event=session-resumed-from-cluster messages_queued={}", index_,
            client_id, queued);
  if (link) {
    link->attach_session(&s, /*session_present=*/true);
  } else {
    s.start_expiry(now_);  // its connection went meanwhile: offline here, as it was there
  }
}

size_t SessionHost::queue_stored_messages(Session& s, const store::StoredSession& stored) {
  // Read per subscription (the engine filters), merged in the log's order, each message once.
  struct Found {
    fanout::MessageRef msg;
    const store::StoredSubscription* sub;
  };
  std::map<uint64_t, Found> found;
  const size_t room = std::max<size_t>(1, limits_.max_queued_messages);
  for (const auto& [filter, sub] : stored.subscriptions) {
    if (sub.options.max_qos == 0 || topics::parse_shared(filter)) continue;
    store::HistoryQuery q;
    q.filter = filter;
    q.after = std::max(stored.cursor, sub.start);
    q.limit = room;
    q.for_session = true;
    for (auto& m : store_->read(q).messages) {
      if (m.msg->qos() > 0) found.try_emplace(m.sequence, Found{std::move(m.msg), &sub});
    }
  }
  size_t queued = 0;
  for (auto& [sequence, f] : found) {
    if (queued == room) break;
    std::vector<uint32_t> ids;
    if (f.sub->subscription_id) ids.push_back(f.sub->subscription_id);
    s.deliver(f.msg, f.sub->options.max_qos, false, std::move(ids), now_);
    // Its subscriptions are in the router already: the same message may also arrive live.
    s.note_replayed(sequence);
    ++queued;
  }
  return queued;
}

void SessionHost::give_up_session(router::SessionId id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  // Connected: closed as by a takeover (0x8E), its will as then; offline: the will goes with
  // the session to the node that has it now.
  if (!s.link()) s.drop_will();
  take_over_local(s);
  s.drop_will();
  end_session(id);
}

}  // namespace hydrant::core
