// PUBLISH from a client (QoS 0/1/2, topic aliases, payload format) and PUBREL, which completes
// an inbound QoS 2 flow. Inbound QoS 2 uses "method B" ordering: the message is routed when the
// PUBLISH arrives and its packet id is remembered until PUBREL, so a re-sent PUBLISH with the
// same id is acknowledged again but not routed twice [MQTT-4.3.3-10].
#include <atomic>
#include <chrono>

#include "base/utf8.hpp"
#include "pulse/mapping.hpp"
#include "session/client_link.hpp"
#include "session/publish_checks.hpp"
#include "topics/topic.hpp"
#include "util/log.hpp"

namespace hydrant::session {

using codec::PacketType;
using codec::ProtocolVersion;

Result<std::string_view> ClientLink::resolve_topic_alias(codec::Publish& p) {
  if (!p.properties.topic_alias) {
    if (p.topic.empty()) return Error{ReasonCode::ProtocolError, "empty topic without alias"};
    return p.topic;
  }
  const uint16_t alias = *p.properties.topic_alias;
  if (alias == 0 || alias > services_.limits().topic_alias_maximum) {
    return Error{ReasonCode::TopicAliasInvalid, "topic alias out of range"};  // [MQTT-3.3.2-9]
  }
  if (!p.topic.empty()) {
    if (auto ok = topics::validate_topic_name(p.topic); !ok) return ok.error();
    aliases().inbound[alias].assign(p.topic);
    return p.topic;
  }
  auto& inbound = aliases().inbound;
  auto it = inbound.find(alias);
  if (it == inbound.end()) {
    return Error{ReasonCode::ProtocolError, "unknown topic alias"};
  }
  return std::string_view(it->second);
}

// The access model and the exchange payload rules (README.md, "Access: Pulse on MQTT"): where this
// client may publish, and that what it publishes on an exchange is small enough, labelled as
// JSON if labelled at all, and parses as UTF-8 JSON.
Status ClientLink::check_exchange_payload(const codec::Publish& p, std::string_view topic) {
  const Limits& lim = services_.limits();
  const std::string_view payload(reinterpret_cast<const char*>(p.payload.data()), p.payload.size());
  if (auto checked = check_exchange_message(principal_.get(), lim, topic, payload, p.properties, p.retain);
      !checked.ok() || (p.retain && payload.empty())) {
    return checked;
  }
  if (!services_.note_exchange(topic)) {
    return Error{ReasonCode::QuotaExceeded, "this user has the most exchanges allowed"};
  }
  if (p.payload.size() > lim.payload_soft_limit) {
    services_.counters().payloads_over_soft_limit.add();
    log::info("conn={} client=\"{}\" event=payload-over-soft-limit topic=\"{}\" bytes={}", conn_id_,
              client_id_, topic, p.payload.size());
  }
  return {};
}

// A refused PUBLISH: MQTT 5 hears the reason in PUBACK/PUBREC (QoS 1/2) or, since QoS 0 has no
// acknowledgement, in DISCONNECT; 3.1.1 has no way to tell a publisher, so it is disconnected
// rather than left believing the message went out. Either way a log line names the reason.
void ClientLink::refuse_publish(const codec::Publish& p, Error refusal) {
  services_.counters().publishes_refused.add();
  if (version_ != ProtocolVersion::V5 || p.qos == 0) return close_for(refusal.code, refusal.context);
  log::info("conn={} peer={} client=\"{}\" event=publish-refused reason=0x{:02x}({}) why=\"{}\"",
            conn_id_, peer_.to_string(), client_id_, static_cast<unsigned>(refusal.code),
            reason_name(refusal.code), refusal.context);
  send_refusal_ack(p.qos, p.packet_id, refusal);
}

void ClientLink::send_refusal_ack(uint8_t qos, uint16_t packet_id, const Error& refusal) {
  codec::Ack ack{qos == 1 ? PacketType::Puback : PacketType::Pubrec, packet_id, refusal.code, {}};
  if (problem_info_allowed()) ack.properties.reason_string = refusal.context;
  send(ack);
}

// CC'd routing keys (README.md, "Access: Pulse on MQTT"): each MQTT 5 user property `cc` names another routing
// key of the same exchange the message is also routed to. Empty when there are none.
Result<std::vector<std::string>> ClientLink::cc_topics(const codec::Publish& p,
                                                       std::string_view topic) {
  constexpr size_t kMaxCc = 32;  // each costs a topic match
  std::vector<std::string> out;
  std::string exchange;
  for (const auto& up : p.properties.user_properties) {
    if (up.key != "cc") continue;
    if (exchange.empty()) {
      exchange = pulse::describe_topic(topic, services_.exchange_levels(topic)).exchange;
    }
    if (out.size() == kMaxCc) return Error{ReasonCode::QuotaExceeded, "more than 32 cc routing keys"};
    out.push_back(pulse::topic_for(exchange, up.value));
    if (!topics::validate_topic_name(out.back()).ok()) {
      return Error{ReasonCode::TopicNameInvalid, "a cc routing key makes no valid topic"};
    }
  }
  return out;
}

void ClientLink::handle_publish(codec::Publish& p) {
  auto topic = publish_topic(p);
  if (!topic) return close_for(topic.error().code, topic.error().context);
  services_.counters().messages_received.add();
  // access (off when open): who may publish where, and what an exchange accepts
  std::vector<std::string> cc;
  if (!services_.access().open()) {
    if (auto checked = check_exchange_payload(p, *topic); !checked.ok()) {
      return refuse_publish(p, checked.error());
    }
    auto routed = cc_topics(p, *topic);
    if (!routed) return refuse_publish(p, routed.error());
    cc = std::move(routed.value());
  }
  if (!accept_content(p, *topic)) return;
  if (p.qos == 2 && session_->awaits_pubrel(p.packet_id)) {
    // A re-sent QoS 2 PUBLISH already routed: acknowledge again only.
    return send(codec::Ack{PacketType::Pubrec, p.packet_id, ReasonCode::Success, {}});
  }
  route_publish(p, *topic, cc);
}

// What makes the packet itself wrong, closing the connection: the inbound window, fields only
// the server may send, the topic alias and the topic name.
Result<std::string_view> ClientLink::publish_topic(codec::Publish& p) {
  if (inbound_window_full(p)) {  // [MQTT-3.3.4-8]
    return Error{ReasonCode::ReceiveMaximumExceeded, "receive maximum exceeded"};
  }
  if (!p.properties.subscription_identifiers.empty()) {  // [MQTT-3.3.4-6]
    return Error{ReasonCode::ProtocolError, "subscription identifier from a client"};
  }
  auto topic = resolve_topic_alias(p);
  if (!topic) return topic.error();
  if (auto ok = topics::validate_topic_name(*topic); !ok) return ok.error();
  return topic;
}

// The payload and properties: a refusal is answered (MQTT 5) or the message dropped, as the
// spec allows; false when the message goes no further.
bool ClientLink::accept_content(const codec::Publish& p, std::string_view topic) {
  Error refusal{ReasonCode::Success, ""};
  if (p.properties.payload_format_indicator.value_or(0) == 1 && !is_valid_utf8(p.payload)) {
    refusal = {ReasonCode::PayloadFormatInvalid, "payload is not UTF-8"};  // [MQTT-3.3.2-4]
  } else if (p.properties.response_topic &&
             !topics::validate_topic_name(*p.properties.response_topic).ok()) {
    close_for(ReasonCode::ProtocolError, "response topic is not a topic name");
    return false;
  } else if (topic == "$SYS" || topic.starts_with("$SYS/")) {
    // The broker's statistics: clients may not forge them.
    refusal = {ReasonCode::NotAuthorized, "$SYS topics are published by the broker only"};
  }
  if (refusal.code == ReasonCode::Success) return true;
  services_.counters().publishes_refused.add();  // received, not accepted
  if (p.qos == 0) {
    // Nothing to answer a QoS 0 message with: dropped, or closed for a malformed payload.
    if (refusal.code == ReasonCode::PayloadFormatInvalid) close_for(refusal.code, refusal.context);
    return false;
  }
  if (version_ == ProtocolVersion::V5) {
    send_refusal_ack(p.qos, p.packet_id, refusal);
  } else {
    // 3.1.1 has no refusal codes: acknowledged, and dropped.
    if (p.qos == 2) session_->await_pubrel(p.packet_id);
    send(codec::Ack{p.qos == 1 ? PacketType::Puback : PacketType::Pubrec, p.packet_id,
                    ReasonCode::Success, {}});
  }
  return false;
}

// Quotas, the log, routing and the answer, for a message that passed every check.
void ClientLink::route_publish(const codec::Publish& p, std::string_view topic,
                               std::span<const std::string> cc) {
  // quota: a new retained topic over its owner's or the broker's cap (docs/conformance.md)
  bool retain = p.retain;
  if (retain && !services_.retain_allowed(topic, p.payload.empty())) {
    services_.counters().retained_refused.add();
    log_retained_refusal();
    if (version_ == ProtocolVersion::V5 && p.qos > 0) {
      return refuse_publish(p, Error{ReasonCode::QuotaExceeded, "retained message quota exceeded"});
    }
    retain = false;  // QoS 0, and 3.1.1 which has no way to say so: delivered, not retained
  }
  // store: an exchange's message goes into the log; QoS 1/2 is acknowledged once it is on disk
  const bool logged = services_.logs(topic);
  if (logged && p.qos > 0 && !services_.log_writable()) {
    return refuse_publish(p, Error{ReasonCode::QuotaExceeded,
                                   "the message log cannot store messages now (a full disk, or the cluster's "
                                   "engine out of reach); try again later"});
  }
  auto make = [&](uint64_t sequence, std::string_view position) {
    return fanout::Message::create(topic, p.payload, p.qos, retain, p.properties,
                                   session_->id(), services_.now(), sequence, position);
  };
  const fanout::MessageRef msg =
      logged ? services_.log_message(*this, make, p.qos > 0, p.packet_id, p.qos, cc, p.dup) : make(0, {});
  // Null: the log routes the message itself once stored (a cluster's, on every node).
  const bool matched = msg ? services_.publish(msg, cc) : true;
  if (logged && p.qos > 0) {
    if (p.qos == 2) session_->await_pubrel(p.packet_id);  // routed: never twice
    if (p.qos == 1) ++unconfirmed_qos1_;
    return;  // confirm_publish() answers
  }
  // MQTT 5: 0x10 tells the publisher that no subscription matched, as mosquitto does (a
  // retained message is still stored). Logged messages are answered 0x00 once on disk: the
  // history log keeps them for subscribers that replay it (docs/conformance.md).
  const ReasonCode rc = matched || version_ != ProtocolVersion::V5
                            ? ReasonCode::Success
                            : ReasonCode::NoMatchingSubscribers;
  if (p.qos == 1) {
    send(codec::Ack{PacketType::Puback, p.packet_id, rc, {}});
  } else if (p.qos == 2) {
    session_->await_pubrel(p.packet_id);
    send(codec::Ack{PacketType::Pubrec, p.packet_id, rc, {}});
  }
}

void ClientLink::confirm_publish(uint16_t packet_id, uint8_t qos, bool ok) {
  if (state_ != LinkState::Connected) return;  // the client re-sends it after reconnecting
  if (qos == 1 && unconfirmed_qos1_ > 0) --unconfirmed_qos1_;
  const PacketType type = qos == 1 ? PacketType::Puback : PacketType::Pubrec;
  if (ok) return send(codec::Ack{type, packet_id, ReasonCode::Success, {}});
  log::warn("conn={} client=\"{}\" event=publish-not-stored packet_id={} (the log could not write)",
            conn_id_, client_id_, packet_id);
  if (qos == 2) session_->end_pubrel_wait(packet_id);
  if (version_ != ProtocolVersion::V5) {
    return close_for(ReasonCode::QuotaExceeded, "the message store could not write the message");
  }
  send_refusal_ack(qos, packet_id,
                   Error{ReasonCode::QuotaExceeded, "the message log could not store it (a full disk, or "
                                                    "the cluster's engine behind or out of reach)"});
}

// One line a second at most for the whole process, with the count since the last one: a client
// publishing retained messages in a loop over its quota must not flood the log.
void ClientLink::log_retained_refusal() {
  static std::atomic<int64_t> last_logged{0};
  static std::atomic<uint64_t> since{0};
  const int64_t second =
      std::chrono::duration_cast<std::chrono::seconds>(services_.now().time_since_epoch()).count();
  ++since;
  int64_t last = last_logged.load(std::memory_order_relaxed);
  if (second <= last || !last_logged.compare_exchange_strong(last, second)) return;
  log::info("conn={} client=\"{}\" event=retained-quota-exceeded refused={}", conn_id_, client_id_,
            since.exchange(0));
}

// The publishes this client has sent that we have not finished acknowledging: QoS 2 until its
// PUBREL and, in MQTT 5, a logged QoS 1 until the disk confirms it and we send its PUBACK (other
// QoS 1 publishes are answered as they are read, so they never wait). MQTT 5 bounds them by the
// Receive Maximum announced in CONNACK (0x93 past it) [MQTT-3.3.4-9]; 3.1.1 has no such limit,
// so there only the QoS 2 ids we must remember are bounded.
bool ClientLink::inbound_window_full(const codec::Publish& p) const {
  if (p.qos == 0) return false;
  if (p.qos == 2 && session_->awaits_pubrel(p.packet_id)) return false;  // a re-send
  size_t waiting = session_->pubrels_awaited();
  if (version_ == ProtocolVersion::V5) {
    waiting += unconfirmed_qos1_;
  } else if (p.qos == 1) {
    return false;
  }
  return waiting >= services_.limits().receive_maximum;
}

void ClientLink::handle_pubrel(const codec::Ack& a) {
  const bool known = session_->end_pubrel_wait(a.packet_id);
  codec::Ack comp{PacketType::Pubcomp, a.packet_id,
                  known ? ReasonCode::Success : ReasonCode::PacketIdentifierNotFound, {}};
  send(comp);
}

}  // namespace hydrant::session
