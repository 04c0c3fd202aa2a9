// MQTT 5 property blocks (MQTT 5.0, 2.2.2): reading with the per-packet allowed set, duplicate and
// value checks, and writing. What a property *means* (topic alias ranges, receive maximum
// accounting, response topics without wildcards ...) is the session's business, not this file's.
//
// Error policy: a truncated value or an identifier the spec does not define is a Malformed Packet;
// a known property in a packet that may not carry it, a second copy of a single-valued property,
// or a value outside its range is a Protocol Error (the wording of 2.2.2.2 and 3.x.2.2.x).
#include <array>

#include "base/utf8.hpp"
#include "codec/codec.hpp"
#include "codec/wire.hpp"

namespace hydrant::codec {

namespace detail {

Result<void> read_utf8(Reader& r, std::string_view& out) {
  if (!r.string(out)) return Error{ReasonCode::MalformedPacket, "truncated string"};
  // [MQTT-1.5.4-1] ill-formed UTF-8 / surrogates, [MQTT-1.5.4-2] U+0000: Malformed Packet.
  if (!is_valid_utf8(out)) return Error{ReasonCode::MalformedPacket, "invalid UTF-8 string"};
  return {};
}

Result<void> read_binary(Reader& r, std::string_view& out) {
  if (!r.string(out)) return Error{ReasonCode::MalformedPacket, "truncated binary data"};
  return {};
}

namespace {

constexpr uint16_t kAllPubAcks = kInPubAck;
constexpr uint16_t kEveryPacket = kInConnect | kInConnack | kInPublish | kInWill | kInPubAck |
                                  kInSubscribe | kInSuback | kInUnsubscribe | kInUnsuback |
                                  kInDisconnect | kInAuth;

// Where each identifier may appear (MQTT 5.0, table in 2.2.2.2); 0 = not a property identifier.
constexpr std::array<uint16_t, 0x2B> kAllowedIn = [] {
  std::array<uint16_t, 0x2B> t{};
  t[0x01] = kInPublish | kInWill;  // Payload Format Indicator
  t[0x02] = kInPublish | kInWill;  // Message Expiry Interval
  t[0x03] = kInPublish | kInWill;  // Content Type
  t[0x08] = kInPublish | kInWill;  // Response Topic
  t[0x09] = kInPublish | kInWill;  // Correlation Data
  t[0x0B] = kInPublish | kInSubscribe;  // Subscription Identifier
  t[0x11] = kInConnect | kInConnack | kInDisconnect;  // Session Expiry Interval
  t[0x12] = kInConnack;  // Assigned Client Identifier
  t[0x13] = kInConnack;  // Server Keep Alive
  t[0x15] = kInConnect | kInConnack | kInAuth;  // Authentication Method
  t[0x16] = kInConnect | kInConnack | kInAuth;  // Authentication Data
  t[0x17] = kInConnect;  // Request Problem Information
  t[0x18] = kInWill;  // Will Delay Interval
  t[0x19] = kInConnect;  // Request Response Information
  t[0x1A] = kInConnack;  // Response Information
  t[0x1C] = kInConnack | kInDisconnect;  // Server Reference
  t[0x1F] = kInConnack | kAllPubAcks | kInSuback | kInUnsuback | kInDisconnect |
            kInAuth;  // Reason String
  t[0x21] = kInConnect | kInConnack;  // Receive Maximum
  t[0x22] = kInConnect | kInConnack;  // Topic Alias Maximum
  t[0x23] = kInPublish;  // Topic Alias
  t[0x24] = kInConnack;  // Maximum QoS
  t[0x25] = kInConnack;  // Retain Available
  t[0x26] = kEveryPacket;  // User Property
  t[0x27] = kInConnect | kInConnack;  // Maximum Packet Size
  t[0x28] = kInConnack;  // Wildcard Subscription Available
  t[0x29] = kInConnack;  // Subscription Identifier Available
  t[0x2A] = kInConnack;  // Shared Subscription Available
  return t;
}();

Error duplicate() { return Error{ReasonCode::ProtocolError, "duplicate property"}; }
Error truncated() { return Error{ReasonCode::MalformedPacket, "truncated property"}; }

// A Byte property whose only legal values are 0 and 1.
Result<void> read_bool_byte(Reader& r, std::optional<uint8_t>& slot) {
  uint8_t v = 0;
  if (!r.u8(v)) return truncated();
  if (slot) return duplicate();
  if (v > 1) return Error{ReasonCode::ProtocolError, "property value not 0 or 1"};
  slot = v;
  return {};
}

Result<void> read_u16(Reader& r, std::optional<uint16_t>& slot) {
  uint16_t v = 0;
  if (!r.u16(v)) return truncated();
  if (slot) return duplicate();
  slot = v;
  return {};
}

Result<void> read_u32(Reader& r, std::optional<uint32_t>& slot) {
  uint32_t v = 0;
  if (!r.u32(v)) return truncated();
  if (slot) return duplicate();
  slot = v;
  return {};
}

Result<void> read_utf8_prop(Reader& r, std::optional<std::string_view>& slot) {
  std::string_view v;
  if (auto res = read_utf8(r, v); !res) return res;
  if (slot) return duplicate();
  slot = v;
  return {};
}

Result<void> read_binary_prop(Reader& r, std::optional<std::string_view>& slot) {
  std::string_view v;
  if (auto res = read_binary(r, v); !res) return res;
  if (slot) return duplicate();
  slot = v;
  return {};
}

Result<void> read_one(Reader& r, PropertyId id, PropContext ctx, Properties& p) {
  switch (id) {
    case PropertyId::PayloadFormatIndicator: return read_bool_byte(r, p.payload_format_indicator);
    case PropertyId::MessageExpiryInterval: return read_u32(r, p.message_expiry_interval);
    case PropertyId::ContentType: return read_utf8_prop(r, p.content_type);
    case PropertyId::ResponseTopic: return read_utf8_prop(r, p.response_topic);
    case PropertyId::CorrelationData: return read_binary_prop(r, p.correlation_data);
    case PropertyId::SubscriptionIdentifier: {
      uint32_t v = 0;
      if (!r.varint(v)) return Error{ReasonCode::MalformedPacket, "bad subscription identifier"};
      // [MQTT-3.8.2.1.2]: value 0 is a Protocol Error; SUBSCRIBE carries at most one.
      if (v == 0) return Error{ReasonCode::ProtocolError, "subscription identifier 0"};
      if (ctx == kInSubscribe && !p.subscription_identifiers.empty()) return duplicate();
      p.subscription_identifiers.push_back(v);
      return {};
    }
    case PropertyId::SessionExpiryInterval: return read_u32(r, p.session_expiry_interval);
    case PropertyId::AssignedClientIdentifier:
      return read_utf8_prop(r, p.assigned_client_identifier);
    case PropertyId::ServerKeepAlive: return read_u16(r, p.server_keep_alive);
    case PropertyId::AuthenticationMethod: return read_utf8_prop(r, p.authentication_method);
    case PropertyId::AuthenticationData: return read_binary_prop(r, p.authentication_data);
    case PropertyId::RequestProblemInformation:
      return read_bool_byte(r, p.request_problem_information);
    case PropertyId::WillDelayInterval: return read_u32(r, p.will_delay_interval);
    case PropertyId::RequestResponseInformation:
      return read_bool_byte(r, p.request_response_information);
    case PropertyId::ResponseInformation: return read_utf8_prop(r, p.response_information);
    case PropertyId::ServerReference: return read_utf8_prop(r, p.server_reference);
    case PropertyId::ReasonString: return read_utf8_prop(r, p.reason_string);
    case PropertyId::ReceiveMaximum: {
      if (auto res = read_u16(r, p.receive_maximum); !res) return res;
      // [MQTT-3.1.2.11.3] / 3.2.2.3.3: a Receive Maximum of 0 is a Protocol Error.
      if (*p.receive_maximum == 0) return Error{ReasonCode::ProtocolError, "receive maximum 0"};
      return {};
    }
    case PropertyId::TopicAliasMaximum: return read_u16(r, p.topic_alias_maximum);
    case PropertyId::TopicAlias: return read_u16(r, p.topic_alias);  // range: session's job
    case PropertyId::MaximumQos: return read_bool_byte(r, p.maximum_qos);  // 3.2.2.3.4
    case PropertyId::RetainAvailable: return read_bool_byte(r, p.retain_available);
    case PropertyId::UserProperty: {
      UserProperty up;
      if (auto res = read_utf8(r, up.key); !res) return res;
      if (auto res = read_utf8(r, up.value); !res) return res;
      p.user_properties.push_back(up);  // may repeat, order kept [MQTT-3.3.2-18]
      return {};
    }
    case PropertyId::MaximumPacketSize: {
      if (auto res = read_u32(r, p.maximum_packet_size); !res) return res;
      // 3.1.2.11.4 / 3.2.2.3.6: a Maximum Packet Size of 0 is a Protocol Error.
      if (*p.maximum_packet_size == 0) {
        return Error{ReasonCode::ProtocolError, "maximum packet size 0"};
      }
      return {};
    }
    case PropertyId::WildcardSubscriptionAvailable:
      return read_bool_byte(r, p.wildcard_subscription_available);
    case PropertyId::SubscriptionIdentifierAvailable:
      return read_bool_byte(r, p.subscription_identifier_available);
    case PropertyId::SharedSubscriptionAvailable:
      return read_bool_byte(r, p.shared_subscription_available);
  }
  return Error{ReasonCode::MalformedPacket, "unknown property identifier"};
}

}  // namespace

Result<void> read_properties(Reader& outer, PropContext ctx, Properties& out) {
  uint32_t len = 0;
  ByteView bytes;
  if (!outer.varint(len)) return Error{ReasonCode::MalformedPacket, "bad property length"};
  if (!outer.take(len, bytes)) {
    return Error{ReasonCode::MalformedPacket, "property length exceeds packet"};
  }
  Reader r(bytes);
  while (!r.empty()) {
    // The identifier is a Variable Byte Integer (2.2.2.2); every defined one fits in one byte.
    uint32_t id = 0;
    if (!r.varint(id)) return Error{ReasonCode::MalformedPacket, "bad property identifier"};
    const uint16_t allowed = id < kAllowedIn.size() ? kAllowedIn[id] : 0;
    if (allowed == 0) return Error{ReasonCode::MalformedPacket, "unknown property identifier"};
    if ((allowed & ctx) == 0) {
      // A property the packet type does not define makes the packet unparseable as specified
      // (2.2.2.2), as HiveMQ and the Paho testing broker treat it: Malformed Packet.
      return Error{ReasonCode::MalformedPacket, "property not allowed in this packet"};
    }
    if (auto res = read_one(r, static_cast<PropertyId>(id), ctx, out); !res) return res;
  }
  return {};
}

}  // namespace detail

namespace {

// Writes the properties present in `p` (without the block's length prefix), in identifier order.
template <class Sink>
void write_properties_body(const Properties& p, Sink& s) {
  auto byte = [&s](PropertyId id, const std::optional<uint8_t>& v) {
    if (v) { s.u8(static_cast<uint8_t>(id)); s.u8(*v); }
  };
  auto u16 = [&s](PropertyId id, const std::optional<uint16_t>& v) {
    if (v) { s.u8(static_cast<uint8_t>(id)); s.u16(*v); }
  };
  auto u32 = [&s](PropertyId id, const std::optional<uint32_t>& v) {
    if (v) { s.u8(static_cast<uint8_t>(id)); s.u32(*v); }
  };
  auto str = [&s](PropertyId id, const std::optional<std::string_view>& v) {
    if (v) { s.u8(static_cast<uint8_t>(id)); s.str(*v); }
  };
  byte(PropertyId::PayloadFormatIndicator, p.payload_format_indicator);
  u32(PropertyId::MessageExpiryInterval, p.message_expiry_interval);
  str(PropertyId::ContentType, p.content_type);
  str(PropertyId::ResponseTopic, p.response_topic);
  str(PropertyId::CorrelationData, p.correlation_data);
  for (uint32_t id : p.subscription_identifiers) {
    s.u8(static_cast<uint8_t>(PropertyId::SubscriptionIdentifier));
    s.varint(id);
  }
  u32(PropertyId::SessionExpiryInterval, p.session_expiry_interval);
  str(PropertyId::AssignedClientIdentifier, p.assigned_client_identifier);
  u16(PropertyId::ServerKeepAlive, p.server_keep_alive);
  str(PropertyId::AuthenticationMethod, p.authentication_method);
  str(PropertyId::AuthenticationData, p.authentication_data);
  byte(PropertyId::RequestProblemInformation, p.request_problem_information);
  u32(PropertyId::WillDelayInterval, p.will_delay_interval);
  byte(PropertyId::RequestResponseInformation, p.request_response_information);
  str(PropertyId::ResponseInformation, p.response_information);
  str(PropertyId::ServerReference, p.server_reference);
  str(PropertyId::ReasonString, p.reason_string);
  u16(PropertyId::ReceiveMaximum, p.receive_maximum);
  u16(PropertyId::TopicAliasMaximum, p.topic_alias_maximum);
  u16(PropertyId::TopicAlias, p.topic_alias);
  byte(PropertyId::MaximumQos, p.maximum_qos);
  byte(PropertyId::RetainAvailable, p.retain_available);
  for (const UserProperty& up : p.user_properties) {
    s.u8(static_cast<uint8_t>(PropertyId::UserProperty));
    s.str(up.key);
    s.str(up.value);
  }
  u32(PropertyId::MaximumPacketSize, p.maximum_packet_size);
  byte(PropertyId::WildcardSubscriptionAvailable, p.wildcard_subscription_available);
  byte(PropertyId::SubscriptionIdentifierAvailable, p.subscription_identifier_available);
  byte(PropertyId::SharedSubscriptionAvailable, p.shared_subscription_available);
}

}  // namespace

uint32_t properties_size(const Properties& props) {
  detail::SizeSink s;
  write_properties_body(props, s);
  return s.n;
}

void append_properties(const Properties& props, Bytes& out) {
  const uint32_t size = properties_size(props);
  append_varint(size, out);
  detail::ByteSink s{out};
  write_properties_body(props, s);
}

}  // namespace hydrant::codec
