// Session: the state MQTT keeps for a client across connections (MQTT 5.0 4.1): subscriptions,
// messages queued for it, QoS 1/2 deliveries in flight, inbound QoS 2 packet ids awaiting PUBREL,
// the will, and the deadlines of an offline session. A session lives on one worker; while a
// client is connected link() is its ClientLink (same worker), otherwise null.
//
// Delivery policy (slow consumers): QoS 0 is written at once if the
// connection's outbound budget allows, otherwise dropped and counted; QoS 1/2 enter the in-flight
// window (the client's Receive Maximum, capped by our max_inflight) or wait in the queue, whose
// length is capped (drop oldest, counted).
//
// Retained replay after SUBSCRIBE is lazy: the session keeps a cursor per filter (RetainedReplay)
// and pump() takes the next chunk of retained messages from the router only when the previous
// chunk is sent, what the connection's unsent messages hold (OutboundQueue::footprint: wire bytes
// and per-item bookkeeping) is under the outbound budget, and the window is open. A client that
// does not read therefore holds at most one chunk and about its outbound budget, however many
// retained messages its filters match.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/packet.hpp"
#include "fanout/message.hpp"
#include "metrics/counters.hpp"
#include "router/session_handle.hpp"
#include "session/limits.hpp"
#include "util/fifo.hpp"
#include "util/flat_map.hpp"

namespace hydrant::session {

class ClientLink;
using fanout::Clock;
using fanout::MessageRef;

inline constexpr uint32_t kSessionNeverExpires = 0xFFFFFFFF;
inline constexpr Clock::time_point kNever = Clock::time_point::max();

struct SubscriptionRecord {
  codec::SubscriptionOptions options;
  uint32_t subscription_id = 0;
};

// One PUBLISH to send, borrowing the message: the QoS 0 path sends without taking a reference
// of its own (each one is an atomic operation on a counter every delivery of the message shares).
struct PublishRef {
  const MessageRef& msg;
  uint8_t qos;     // effective QoS: min(message, granted)
  bool retain;     // the RETAIN flag to send
  std::span<const uint32_t> subscription_ids;
};

// A delivery that waits in the queue or in flight: it owns its reference to the message.
struct Delivery {
  MessageRef msg;
  uint8_t qos = 0;      // effective QoS: min(message, granted)
  bool retain = false;  // the RETAIN flag to send
  std::vector<uint32_t> subscription_ids;
  PublishRef ref() const { return PublishRef{msg, qos, retain, subscription_ids}; }
};

struct InflightOut {
  Delivery delivery;
  bool pubrec_received = false;  // QoS 2: PUBREL sent, waiting for PUBCOMP
};

// A SUBSCRIBE filter whose retained messages are still to be sent: the subscription's grant and
// a resume position (the last retained topic taken from the router), not an iterator, so that
// retained messages set or cleared between chunks cannot invalidate it. Every message it yields
// is sent with RETAIN=1 [MQTT-3.3.1-8] at min(message QoS, granted).
struct RetainedReplay {
  std::string filter;
  std::string after;  // the last topic taken, in topic order; "" = none yet
  uint32_t subscription_id = 0;
  uint8_t qos = 0;  // granted
};

struct WillMessage {
  MessageRef msg;
  uint32_t delay = 0;  // Will Delay Interval, seconds
};

class Session {
 public:
  explicit Session(router::HandleRef handle) : handle_(std::move(handle)) {}

  const router::HandleRef& handle() const { return handle_; }
  router::SessionId id() const { return handle_->id; }
  const std::string& client_id() const { return handle_->client_id; }

  // Hands a message to this session (on its owning worker). `granted_qos` comes from the
  // subscription; `retain` is the flag to send. Writes to the link, queues, or drops.
  void deliver(const MessageRef& msg, uint8_t granted_qos, bool retain,
               std::vector<uint32_t> subscription_ids, Clock::time_point now);
  // Replays a stored message from the log after SUBSCRIBE (MQTT 5 `replay`, RETAIN=0): always
  // queued (never dropped for the budget, never counted against the queue limit) and paced by
  // pump(). (Retained messages come through replay_retained() instead.)
  void deliver_retained(const MessageRef& msg, uint8_t granted_qos,
                        const std::vector<uint32_t>& subscription_ids, Clock::time_point now,
                        bool retain = true);
  // Starts the retained replay of these SUBSCRIBE filters (in order, after any already going),
  // then pumps. A filter whose replay is still going starts again from its first topic (one
  // cursor per filter: re-subscribing cannot pile them up).
  void replay_retained(std::vector<RetainedReplay> replays, Clock::time_point now);
  // Stops the retained replay of the filters `unsubscribed` selects (UNSUBSCRIBE); messages of
  // an already taken chunk are still sent.
  void stop_retained_replay(const std::function<bool(std::string_view filter)>& unsubscribed);
  // Filters whose retained replay has not finished.
  size_t retained_replays() const { return backlog_ ? backlog_->replays.size() : 0; }
  // The lowest log sequence among the messages queued or in flight (UINT64_MAX: none): the
  // session's durable cursor may not pass it.
  uint64_t lowest_pending_sequence() const;
  // Moves queued deliveries to the link while the window and budget allow.
  void pump(Clock::time_point now);
  // Re-sends what was in flight when the previous connection ended [MQTT-4.4.0-1].
  void resend_inflight(Clock::time_point now);

  // Outbound acknowledgements from the client. Each returns false for an unknown packet id.
  bool on_puback(uint16_t packet_id, Clock::time_point now);
  bool on_pubrec(uint16_t packet_id, bool failed, Clock::time_point now);
  bool on_pubcomp(uint16_t packet_id, Clock::time_point now);

  // Deliveries waiting: the queue and the retained chunk being sent.
  size_t queued() const {
    return backlog_ ? backlog_->queue.size() + backlog_->retained_chunk.size() : 0;
  }
  size_t inflight() const { return backlog_ ? backlog_->inflight.size() : 0; }
  // Frees the delivery state when nothing is queued or in flight (called on an idle connection).
  void release_if_idle();

  // The connection this session is attached to (same host), null while offline. The link is
  // set in one place: ClientLink::attach_session() attaches; the host detaches it when the
  // connection closes or another one takes the session over.
  ClientLink* link() const { return link_; }
  // The protocol version of its last connection, and how long it outlives a disconnect
  // (seconds; kSessionNeverExpires = never, 0 = it ends with the connection).
  codec::ProtocolVersion version() const { return version_; }
  uint32_t expiry_interval() const { return expiry_interval_; }
  // A connection attaches: its version and expiry interval, and its will, are the session's
  // now; the offline deadlines end.
  void attach(ClientLink& link, codec::ProtocolVersion version, uint32_t expiry_interval,
              std::optional<WillMessage> will) {
    link_ = &link;
    version_ = version;
    expiry_interval_ = expiry_interval;
    will_ = std::move(will);
    will_due_ = kNever;
    expires_at_ = kNever;
  }
  ClientLink* detach() { return std::exchange(link_, nullptr); }
  // MQTT 5 DISCONNECT may change the expiry interval (not from 0 [MQTT-3.14.2-2]: the caller's).
  void change_expiry_interval(uint32_t seconds) { expiry_interval_ = seconds; }
  // A persistent session brought back from the message log, offline.
  void restore(codec::ProtocolVersion version, uint32_t expiry_interval, Clock::time_point now) {
    version_ = version;
    expiry_interval_ = expiry_interval;
    start_expiry(now);
  }

  // ---- offline: the will and the end of the session ----
  const std::optional<WillMessage>& will() const { return will_; }
  // A session restored offline with the will its client left (a cluster's node that died):
  // published after its delay, or when the session ends.
  void restore_will(WillMessage will, Clock::time_point now) {
    will_ = std::move(will);
    schedule_will(now);
  }
  void drop_will() { will_.reset(); will_due_ = kNever; }
  // The will, taken to be published now (null when there is none); it will not go out again.
  MessageRef take_will() {
    MessageRef msg = will_ ? std::move(will_->msg) : nullptr;
    drop_will();
    return msg;
  }
  // Offline from `now`: the will goes out after its delay (or when the session ends, if sooner
  // [MQTT-3.1.3-9]), and the session ends after its expiry interval, unless it never expires.
  void schedule_will(Clock::time_point now) {
    if (will_) will_due_ = now + std::chrono::seconds(will_->delay);
  }
  void start_expiry(Clock::time_point now) {
    if (expiry_interval_ != kSessionNeverExpires) expires_at_ = now + std::chrono::seconds(expiry_interval_);
  }
  // While the session moves to another host: nothing is due.
  void clear_deadlines() { will_due_ = expires_at_ = kNever; }
  bool will_is_due(Clock::time_point now) const { return now >= will_due_; }
  bool has_expired(Clock::time_point now) const { return now >= expires_at_; }

  // The host this session lives on (at creation, and again after a migration): its limits and
  // counters, which outlive the session.
  void use_host_settings(const Limits& limits, metrics::Counters& counters) {
    limits_ = &limits;
    counters_ = &counters;
  }

  // ---- subscriptions, by filter ----
  const util::FlatMap<std::string, SubscriptionRecord>& subscriptions() const { return subscriptions_; }
  bool is_subscribed(std::string_view filter) const { return subscriptions_.contains(filter); }
  void subscribe(std::string filter, SubscriptionRecord record) {
    subscriptions_.insert_or_assign(std::move(filter), record);
  }
  // SUBSCRIBE adds or replaces many filters at once (one sort, not one insert each).
  void subscribe_many(std::vector<std::pair<std::string, SubscriptionRecord>> records) {
    subscriptions_.insert_or_assign_many(std::move(records));
  }
  void unsubscribe_if(const std::function<bool(std::string_view filter)>& removed) {
    subscriptions_.erase_if([&](const auto& item) { return removed(item.first); });
  }

  // ---- inbound QoS 2: PUBREC sent, PUBREL not yet seen ----
  bool awaits_pubrel(uint16_t packet_id) const { return awaiting_pubrel_.contains(packet_id); }
  void await_pubrel(uint16_t packet_id) { awaiting_pubrel_.insert(packet_id); }
  // The PUBREL arrived (or the exchange is abandoned); false when the id was not awaited.
  bool end_pubrel_wait(uint16_t packet_id) { return awaiting_pubrel_.erase(packet_id); }
  size_t pubrels_awaited() const { return awaiting_pubrel_.size(); }

  // Messages routed to this session (a queue's rate, admin API).
  uint64_t delivered() const { return delivered_; }

  // ---- the message log's view of this session (persistent sessions only) ----
  // The sequence of its SessionOpen record; 0: not recorded.
  uint64_t store_incarnation() const { return store_incarnation_; }
  void set_store_incarnation(uint64_t incarnation) { store_incarnation_ = incarnation; }
  // Moves the recorded cursor on to `cursor`; false when that is not past the last one.
  bool advance_cursor(uint64_t cursor) {
    if (cursor <= store_cursor_) return false;
    store_cursor_ = cursor;
    return true;
  }
  // A message the log replay delivered; the same message arriving live is then skipped.
  void note_replayed(uint64_t sequence) {
    replayed_.insert(sequence);
    replay_until_ = std::max(replay_until_, sequence);
  }

 private:
  // Deliveries waiting and in flight. Allocated at the first one that must wait or be
  // acknowledged: a QoS 0 subscriber, the common reader of a firehose, never needs it.
  struct Backlog {
    util::Fifo<Delivery> queue;
    // Retained replay: the chunk taken from the router and not yet sent, and the cursors of the
    // filters still to replay (front first). Sent before the queue, as SUBSCRIBE queued all
    // retained messages ahead of later messages before replay was lazy.
    //
    // A persistent session that goes offline mid-replay keeps its cursors and goes on at the
    // next connection: what it held before (the retained messages queued in full) stayed queued
    // too, and a cursor is a few bytes where the messages were one Delivery each. A clean start
    // ends the session, and the cursors with it; UNSUBSCRIBE stops that filter's cursor.
    util::Fifo<Delivery> retained_chunk;
    std::deque<RetainedReplay> replays;
    util::FlatMap<uint16_t, InflightOut> inflight;  // by packet id
    uint16_t last_packet_id = 0;
  };
  Backlog& backlog();

  void enqueue(Delivery&& d);
  void take_retained_chunk();  // from replays.front() into retained_chunk
  bool window_open() const;
  bool send_now(Delivery& d, Clock::time_point now);  // false when dropped (too large, expired)
  uint16_t next_packet_id();

  router::HandleRef handle_;
  const Limits* limits_ = nullptr;         // the host's (use_host_settings)
  metrics::Counters* counters_ = nullptr;  // the host's
  util::FlatMap<std::string, SubscriptionRecord> subscriptions_;
  util::FlatSet<uint16_t> awaiting_pubrel_;
  uint64_t delivered_ = 0;
  ClientLink* link_ = nullptr;  // non-owning
  codec::ProtocolVersion version_ = codec::ProtocolVersion::V311;
  uint32_t expiry_interval_ = 0;
  std::optional<WillMessage> will_;
  Clock::time_point will_due_ = kNever;    // offline: when the will is published
  Clock::time_point expires_at_ = kNever;  // offline: when the session ends
  uint64_t store_incarnation_ = 0;
  uint64_t store_cursor_ = 0;
  // After a replay from the log: live messages up to `replay_until_` whose sequence is in
  // `replayed_` were already delivered by the replay and are skipped (the seam).
  uint64_t replay_until_ = 0;
  util::FlatSet<uint64_t> replayed_;
  std::unique_ptr<Backlog> backlog_;
};

}  // namespace hydrant::session
