// Session delivery: the in-flight window, the queue and its limit, re-sending after reconnect.
// See session.hpp for the policy.
#include "session/session.hpp"

#include <algorithm>
#include <unordered_set>

#include "session/client_link.hpp"

namespace hydrant::session {

namespace {

// Retained messages taken from the router at a time by one replay cursor: enough that a fast
// reader takes the router's retained lock rarely, few enough that a stuck one holds little (and
// within util::Fifo's kept capacity, so a chunk's vector is reused).
constexpr size_t kRetainedChunk = 64;

}  // namespace

void Session::deliver(const MessageRef& msg, uint8_t granted_qos, bool retain,
                      std::vector<uint32_t> subscription_ids, Clock::time_point now) {
  if (msg->expired(now)) return;
  if (replay_until_ != 0 && msg->sequence() != 0 && msg->sequence() <= replay_until_ &&
      replayed_.contains(msg->sequence())) {
    return;  // the replay that preceded it delivered this one already
  }
  ++delivered_;
  const uint8_t qos = std::min(msg->qos(), granted_qos);
  if (qos == 0) {
    if (link_ && replay_until_ != 0 && queued() != 0) {
      enqueue(Delivery{msg, 0, retain, std::move(subscription_ids)});
      return;  // behind the replayed messages still queued, in order (and within the limit)
    }
    // QoS 0 is not queued for an offline session, and is dropped past the outbound budget.
    if (!link_ || link_->out().pending_bytes() >= limits_->outbound_budget) {
      counters_->messages_dropped.add();
      return;
    }
    link_->send_publish(PublishRef{msg, 0, retain, subscription_ids}, 0, false, now);
    return;
  }
  Delivery d{msg, qos, retain, std::move(subscription_ids)};
  if (link_ && queued() == 0 && retained_replays() == 0 && window_open() &&
      link_->out().pending_bytes() < limits_->outbound_budget) {
    send_now(d, now);
    return;
  }
  enqueue(std::move(d));
}

void Session::deliver_retained(const MessageRef& msg, uint8_t granted_qos,
                               const std::vector<uint32_t>& subscription_ids,
                               Clock::time_point now, bool retain) {
  if (msg->expired(now)) return;
  backlog().queue.push_back(
      Delivery{msg, std::min(msg->qos(), granted_qos), retain, subscription_ids});
  pump(now);
}

void Session::replay_retained(std::vector<RetainedReplay> replays, Clock::time_point now) {
  if (replays.empty()) return;
  // One cursor per filter, the latest grant winning: drop the filter's earlier cursors, those
  // still going and duplicates within `replays`.
  std::vector<RetainedReplay> fresh;
  fresh.reserve(replays.size());
  std::unordered_set<std::string_view> seen;
  for (auto it = replays.rbegin(); it != replays.rend(); ++it) {
    if (seen.insert(it->filter).second) fresh.push_back(std::move(*it));
  }
  std::reverse(fresh.begin(), fresh.end());
  Backlog& b = backlog();
  if (!b.replays.empty()) {
    seen.clear();
    for (const auto& r : fresh) seen.insert(r.filter);
    std::erase_if(b.replays, [&](const RetainedReplay& r) { return seen.contains(r.filter); });
  }
  for (auto& r : fresh) b.replays.push_back(std::move(r));
  pump(now);
}

void Session::stop_retained_replay(
    const std::function<bool(std::string_view filter)>& unsubscribed) {
  if (!backlog_) return;
  std::erase_if(backlog_->replays,
                [&](const RetainedReplay& r) { return unsubscribed(r.filter); });
}

void Session::take_retained_chunk() {
  Backlog& b = *backlog_;
  RetainedReplay& r = b.replays.front();
  std::vector<MessageRef> found;
  found.reserve(kRetainedChunk);
  const bool end = link_->services().retained_after(r.filter, r.after, kRetainedChunk, found);
  for (auto& msg : found) {
    const uint8_t qos = std::min(msg->qos(), r.qos);
    std::vector<uint32_t> ids;
    if (r.subscription_id) ids.push_back(r.subscription_id);
    b.retained_chunk.push_back(Delivery{std::move(msg), qos, /*retain=*/true, std::move(ids)});
  }
  if (end) b.replays.pop_front();
}

uint64_t Session::lowest_pending_sequence() const {
  uint64_t lowest = UINT64_MAX;
  if (!backlog_) return lowest;
  auto note = [&](const Delivery& d) {
    if (d.msg->sequence() != 0) lowest = std::min(lowest, d.msg->sequence());
  };
  backlog_->queue.for_each(note);
  backlog_->retained_chunk.for_each(note);
  for (const auto& [id, in] : backlog_->inflight) note(in.delivery);
  return lowest;
}

Session::Backlog& Session::backlog() {
  if (!backlog_) backlog_ = std::make_unique<Backlog>();
  return *backlog_;
}

void Session::release_if_idle() {
  if (backlog_ && backlog_->queue.empty() && backlog_->inflight.empty() &&
      backlog_->retained_chunk.empty() && backlog_->replays.empty()) {
    backlog_.reset();
  }
}

void Session::enqueue(Delivery&& d) {
  auto& queue = backlog().queue;
  if (queue.size() >= limits_->max_queued_messages) {
    queue.pop_front();  // overflow policy: drop the oldest, counted
    counters_->messages_dropped.add();
  }
  queue.push_back(std::move(d));
}

bool Session::window_open() const {
  const uint16_t window = std::min(limits_->max_inflight, link_->client_receive_maximum());
  return inflight() < window;
}

bool Session::send_now(Delivery& d, Clock::time_point now) {
  if (d.msg->expired(now)) {
    counters_->messages_dropped.add();
    return false;
  }
  if (d.qos == 0) return link_->send_publish(d.ref(), 0, false, now);
  const uint16_t id = next_packet_id();
  if (!link_->send_publish(d.ref(), id, false, now)) return false;
  backlog_->inflight.insert_or_assign(id, InflightOut{std::move(d), false});
  return true;
}

void Session::pump(Clock::time_point now) {
  if (!link_ || !backlog_) return;
  Backlog& b = *backlog_;
  const fanout::OutboundQueue& out = link_->out();
  while (out.pending_bytes() < limits_->outbound_budget) {
    util::Fifo<Delivery>* from = nullptr;
    if (!b.retained_chunk.empty() || !b.replays.empty()) {
      // Retained replay (before the queue) is paced by what the unsent messages hold in memory,
      // not only their wire bytes: a stuck reader of tiny retained messages would otherwise
      // hold several times the budget in queue items.
      if (out.footprint() >= limits_->outbound_budget) break;
      if (b.retained_chunk.empty()) {
        // The next chunk only once the last one is sent, the budget has room and the window is
        // open: what a client that does not read holds stays bounded.
        if (!window_open()) break;
        take_retained_chunk();
        continue;
      }
      from = &b.retained_chunk;
    } else if (!b.queue.empty()) {
      from = &b.queue;
    } else {
      break;
    }
    if (from->front().qos > 0 && !window_open()) break;
    Delivery d = std::move(from->front());
    from->pop_front();
    send_now(d, now);
  }
}

void Session::resend_inflight(Clock::time_point now) {
  // In the order first sent [MQTT-4.6.0-1]: ids are handed out in a circle, so the oldest id in
  // flight is the first one after the last id handed out.
  if (inflight() == 0) return;
  auto& inflight = backlog_->inflight;
  std::vector<uint16_t> too_large;
  const auto first = inflight.lower_bound(static_cast<uint16_t>(backlog_->last_packet_id + 1));
  auto resend = [&](auto& entry) {
    if (entry.second.pubrec_received) {
      link_->send_pubrel(entry.first);
    } else if (!link_->send_publish(entry.second.delivery.ref(), entry.first, /*dup=*/true, now)) {
      too_large.push_back(entry.first);
    }
  };
  for (auto it = first; it != inflight.end(); ++it) resend(*it);
  for (auto it = inflight.begin(); it != first; ++it) resend(*it);
  // Too large for this connection's Maximum Packet Size: dropped (and counted), so that it does
  // not hold a window slot for ever.
  for (uint16_t id : too_large) inflight.erase(id);
}

uint16_t Session::next_packet_id() {
  // Inflight is bounded by max_inflight (<= 65535), so a free id always exists.
  Backlog& b = backlog();
  do {
    b.last_packet_id = static_cast<uint16_t>(b.last_packet_id == 65535 ? 1 : b.last_packet_id + 1);
  } while (b.inflight.contains(b.last_packet_id));
  return b.last_packet_id;
}

bool Session::on_puback(uint16_t packet_id, Clock::time_point now) {
  if (!backlog_) return false;
  auto& inflight = backlog_->inflight;
  auto it = inflight.find(packet_id);
  if (it == inflight.end() || it->second.delivery.qos != 1) return false;
  inflight.erase(it);
  pump(now);
  return true;
}

bool Session::on_pubrec(uint16_t packet_id, bool failed, Clock::time_point now) {
  if (!backlog_) return false;
  auto& inflight = backlog_->inflight;
  auto it = inflight.find(packet_id);
  if (it == inflight.end() || it->second.delivery.qos != 2) return false;
  if (failed) {  // a PUBREC with an error code ends the flow: no PUBREL follows
    inflight.erase(it);
    pump(now);
    return true;
  }
  it->second.pubrec_received = true;
  it->second.delivery.msg.reset();  // only the id is needed from now on
  if (link_) link_->send_pubrel(packet_id);
  return true;
}

bool Session::on_pubcomp(uint16_t packet_id, Clock::time_point now) {
  if (!backlog_) return false;
  auto& inflight = backlog_->inflight;
  auto it = inflight.find(packet_id);
  if (it == inflight.end() || !it->second.pubrec_received) return false;
  inflight.erase(it);
  pump(now);
  return true;
}

}  // namespace hydrant::session
