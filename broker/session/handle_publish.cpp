// PUBLISH from a client (QoS 0/1/2, topic aliases, payload format) and PUBREL, which completes
// an inbound QoS 2 flow. Inbound QoS 2 uses "method B" ordering: the message is routed when the
// PUBLISH arrives and its packet id is remembered until PUBREL, so a re-sent PUBLISH with the
// same id is acknowledged again but not routed twice [MQTT-4.3.3-10].
#include "session/client_link.hpp"
#include "topics/topic.hpp"

namespace hydrant::session {

using codec::PacketType;
using codec::ProtocolVersion;
using codec::ReasonCode;

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

void ClientLink::handle_publish(codec::Publish& p) {
  // state: inbound window [MQTT-3.3.4-8]
  if (p.qos == 2 && !session_->awaiting_pubrel.contains(p.packet_id) && awaiting_pubrel_full()) {
    return close_for(ReasonCode::ReceiveMaximumExceeded, "receive maximum exceeded");
  }
  // fields
  if (!p.properties.subscription_identifiers.empty()) {
    return close_for(ReasonCode::ProtocolError, "subscription identifier from a client");  // [MQTT-3.3.4-6]
  }
  auto topic = resolve_topic_alias(p);
  if (!topic) return close_for(topic.error().code, topic.error().context);
  if (auto ok = topics::validate_topic_name(*topic); !ok) {
    return close_for(ok.error().code, ok.error().context);
  }
  // validate
  ReasonCode refusal = ReasonCode::Success;
  const char* why = "";
  if (p.properties.payload_format_indicator.value_or(0) == 1 && !codec::is_valid_utf8(p.payload)) {
    refusal = ReasonCode::PayloadFormatInvalid;  // [MQTT-3.3.2-4] allows refusing it
    why = "payload is not UTF-8";
  } else if (p.properties.response_topic &&
             !topics::validate_topic_name(*p.properties.response_topic).ok()) {
    return close_for(ReasonCode::ProtocolError, "response topic is not a topic name");
  } else if (*topic == "$SYS" || topic->starts_with("$SYS/")) {
    refusal = ReasonCode::NotAuthorized;  // the broker's statistics: clients may not forge them
    why = "$SYS topics are published by the broker only";
  }
  services_.counters().messages_received.add();
  if (refusal != ReasonCode::Success) {
    if (p.qos == 0) {
      if (refusal == ReasonCode::PayloadFormatInvalid) return close_for(refusal, why);
      return;  // nothing to answer a QoS 0 message with; it is dropped
    }
    if (version_ == ProtocolVersion::V5) {
      codec::Ack ack{p.qos == 1 ? PacketType::Puback : PacketType::Pubrec, p.packet_id, refusal, {}};
      if (problem_info_allowed()) ack.properties.reason_string = why;
      return send(ack);
    }
    if (p.qos == 2) session_->awaiting_pubrel.insert(p.packet_id);
    return send(codec::Ack{p.qos == 1 ? PacketType::Puback : PacketType::Pubrec, p.packet_id,
                           ReasonCode::Success, {}});
  }
  // apply
  if (p.qos == 2 && session_->awaiting_pubrel.contains(p.packet_id)) {
    // A re-sent QoS 2 PUBLISH already routed: acknowledge again only.
    return send(codec::Ack{PacketType::Pubrec, p.packet_id, ReasonCode::Success, {}});
  }
  services_.publish(fanout::Message::create(*topic, p.payload, p.qos, p.retain, p.properties,
                                            session_->id(), services_.now()));
  // reply
  if (p.qos == 1) {
    send(codec::Ack{PacketType::Puback, p.packet_id, ReasonCode::Success, {}});
  } else if (p.qos == 2) {
    session_->awaiting_pubrel.insert(p.packet_id);
    send(codec::Ack{PacketType::Pubrec, p.packet_id, ReasonCode::Success, {}});
  }
}

bool ClientLink::awaiting_pubrel_full() const {
  return session_->awaiting_pubrel.size() >= services_.limits().receive_maximum;
}

void ClientLink::handle_pubrel(const codec::Ack& a) {
  const bool known = session_->awaiting_pubrel.erase(a.packet_id);
  codec::Ack comp{PacketType::Pubcomp, a.packet_id,
                  known ? ReasonCode::Success : ReasonCode::PacketIdentifierNotFound, {}};
  send(comp);
}

}  // namespace hydrant::session
