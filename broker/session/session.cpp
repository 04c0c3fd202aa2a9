// Session delivery: the in-flight window, the queue and its limit, re-sending after reconnect.
// See session.hpp for the policy.
#include "session/session.hpp"

#include <algorithm>

#include "session/client_link.hpp"

namespace hydrant::session {

void Session::deliver(const MessageRef& msg, uint8_t granted_qos, bool retain,
                      std::vector<uint32_t> subscription_ids, Clock::time_point now) {
  if (msg->expired(now)) return;
  Delivery d{msg, std::min(msg->qos(), granted_qos), retain, std::move(subscription_ids)};
  if (d.qos == 0) {
    // QoS 0 is not queued for an offline session, and is dropped past the outbound budget.
    if (!link || link->out().pending_bytes() >= limits->outbound_budget) {
      counters->messages_dropped.add();
      return;
    }
    send_now(d, now);
    return;
  }
  if (link && queue_.empty() && window_open() &&
      link->out().pending_bytes() < limits->outbound_budget) {
    send_now(d, now);
    return;
  }
  enqueue(std::move(d));
}

void Session::deliver_retained(const MessageRef& msg, uint8_t granted_qos,
                               const std::vector<uint32_t>& subscription_ids,
                               Clock::time_point now) {
  if (msg->expired(now)) return;
  queue_.push_back(Delivery{msg, std::min(msg->qos(), granted_qos), true, subscription_ids});
  pump(now);
}

void Session::enqueue(Delivery&& d) {
  if (queue_.size() >= limits->max_queued_messages) {
    queue_.pop_front();  // overflow policy: drop the oldest, counted
    counters->messages_dropped.add();
  }
  queue_.push_back(std::move(d));
}

bool Session::window_open() const {
  const uint16_t window = std::min(limits->max_inflight, link->client_receive_maximum());
  return inflight_.size() < window;
}

bool Session::send_now(Delivery& d, Clock::time_point now) {
  if (d.msg->expired(now)) {
    counters->messages_dropped.add();
    return false;
  }
  if (d.qos == 0) return link->send_publish(d, 0, false, now);
  const uint16_t id = next_packet_id();
  if (!link->send_publish(d, id, false, now)) return false;
  inflight_.emplace(id, InflightOut{std::move(d), false});
  return true;
}

void Session::pump(Clock::time_point now) {
  if (!link) return;
  while (!queue_.empty() && link->out().pending_bytes() < limits->outbound_budget) {
    if (queue_.front().qos > 0 && !window_open()) break;
    Delivery d = std::move(queue_.front());
    queue_.pop_front();
    send_now(d, now);
  }
}

void Session::resend_inflight(Clock::time_point now) {
  for (auto it = inflight_.begin(); it != inflight_.end();) {
    if (it->second.pubrec_received) {
      link->send_pubrel(it->first);
    } else if (!link->send_publish(it->second.delivery, it->first, /*dup=*/true, now)) {
      // Too large for this connection's Maximum Packet Size: dropped (and counted), so that it
      // does not hold a window slot for ever.
      it = inflight_.erase(it);
      continue;
    }
    ++it;
  }
}

uint16_t Session::next_packet_id() {
  // Inflight is bounded by max_inflight (<= 65535), so a free id always exists.
  do {
    last_packet_id_ = static_cast<uint16_t>(last_packet_id_ == 65535 ? 1 : last_packet_id_ + 1);
  } while (inflight_.count(last_packet_id_) != 0);
  return last_packet_id_;
}

bool Session::on_puback(uint16_t packet_id, Clock::time_point now) {
  auto it = inflight_.find(packet_id);
  if (it == inflight_.end() || it->second.delivery.qos != 1) return false;
  inflight_.erase(it);
  pump(now);
  return true;
}

bool Session::on_pubrec(uint16_t packet_id, bool failed, Clock::time_point now) {
  auto it = inflight_.find(packet_id);
  if (it == inflight_.end() || it->second.delivery.qos != 2) return false;
  if (failed) {  // a PUBREC with an error code ends the flow: no PUBREL follows
    inflight_.erase(it);
    pump(now);
    return true;
  }
  it->second.pubrec_received = true;
  it->second.delivery.msg.reset();  // only the id is needed from now on
  if (link) link->send_pubrel(packet_id);
  return true;
}

bool Session::on_pubcomp(uint16_t packet_id, Clock::time_point now) {
  auto it = inflight_.find(packet_id);
  if (it == inflight_.end() || !it->second.pubrec_received) return false;
  inflight_.erase(it);
  pump(now);
  return true;
}

}  // namespace hydrant::session
