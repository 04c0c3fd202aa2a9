// SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK decoding (MQTT 5.0 3.8-3.11, MQTT 3.1.1 3.8-3.11).
// Filters are checked for UTF-8 only (plus non-empty for SUBSCRIBE); wildcard placement and
// $share syntax are topics/' job, and no-local on a shared subscription [MQTT-3.8.3-4] is the
// session's (it needs the parsed filter).
#include "codec/codec.hpp"
#include "codec/wire.hpp"

namespace hydrant::codec::detail {

namespace {

Result<void> read_packet_id(Reader& r, uint16_t& id) {
  if (!r.u16(id)) return malformed("truncated packet identifier");
  if (id == 0) return malformed("packet identifier 0");  // [MQTT-2.2.1-3]
  return {};
}

// Subscription Options byte (5.0 3.8.3.1) or Requested QoS byte (3.1.1 3.8.3.1).
Result<void> decode_options(uint8_t o, bool v5, SubscriptionOptions& out) {
  if (!v5 && (o & 0xFC)) return malformed("requested QoS reserved bits");  // [MQTT-3-8.3-4]
  if (v5 && (o & 0xC0)) return malformed("subscription options reserved bits");  // [MQTT-3.8.3-5]
  out.max_qos = o & 0x03;
  if (out.max_qos == 3) return malformed("subscription QoS 3");  // [MQTT-3-8.3-4]
  if (v5) {
    out.no_local = (o & 0x04) != 0;
    out.retain_as_published = (o & 0x08) != 0;
    out.retain_handling = static_cast<uint8_t>((o >> 4) & 0x03);
    if (out.retain_handling == 3) return protocol_error("retain handling 3");  // 3.8.3.1
  }
  return {};
}

// SUBACK / UNSUBACK payloads: one reason code per filter, at least one.
Result<void> read_reason_codes(Reader& r, bool (*allowed)(uint8_t), std::vector<ReasonCode>& out) {
  if (r.empty()) return malformed("no reason codes");
  while (!r.empty()) {
    uint8_t rc = 0;
    (void)r.u8(rc);
    if (!allowed(rc)) return protocol_error("reason code not allowed here");
    out.push_back(static_cast<ReasonCode>(rc));
  }
  return {};
}

bool suback_v5_allowed(uint8_t rc) {  // 5.0 3.9.3
  return is_one_of(rc, {0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2});
}
bool suback_v3_allowed(uint8_t rc) { return is_one_of(rc, {0x00, 0x01, 0x02, 0x80}); }  // [MQTT-3.9.3-2]
bool unsuback_allowed(uint8_t rc) {  // 5.0 3.11.3
  return is_one_of(rc, {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91});
}

}  // namespace

Result<Packet> decode_subscribe(uint8_t /*flags*/, ByteView body, ProtocolVersion v) {
  const bool v5 = v == ProtocolVersion::V5;
  Reader r(body);
  Subscribe s;
  if (auto res = read_packet_id(r, s.packet_id); !res) return res.error();
  if (v5) {
    // At most one Subscription Identifier, value 1..268435455 (3.8.2.1.2): read_properties.
    if (auto res = read_properties(r, kInSubscribe, s.properties); !res) return res.error();
  }
  while (!r.empty()) {
    TopicSubscription ts;
    if (auto res = read_utf8(r, ts.filter); !res) return res.error();  // [MQTT-3.8.3-1]
    if (ts.filter.empty()) return malformed("empty topic filter");  // [MQTT-4.7.3-1]
    uint8_t o = 0;
    if (!r.u8(o)) return malformed("missing subscription options");
    if (auto res = decode_options(o, v5, ts.options); !res) return res.error();
    s.subscriptions.push_back(ts);
  }
  if (s.subscriptions.empty()) {
    // 5.0 [MQTT-3.8.3-2]: a Protocol Error; 3.1.1 [MQTT-3.8.3-3]: a protocol violation.
    return v5 ? protocol_error("SUBSCRIBE without filters") : malformed("SUBSCRIBE without filters");
  }
  return Packet{std::move(s)};
}

Result<Packet> decode_suback(uint8_t /*flags*/, ByteView body, ProtocolVersion v) {
  const bool v5 = v == ProtocolVersion::V5;
  Reader r(body);
  Suback s;
  if (auto res = read_packet_id(r, s.packet_id); !res) return res.error();
  if (v5) {
    if (auto res = read_properties(r, kInSuback, s.properties); !res) return res.error();
  }
  auto allowed = v5 ? suback_v5_allowed : suback_v3_allowed;
  if (auto res = read_reason_codes(r, allowed, s.reason_codes); !res) return res.error();
  return Packet{std::move(s)};
}

Result<Packet> decode_unsubscribe(uint8_t /*flags*/, ByteView body, ProtocolVersion v) {
  const bool v5 = v == ProtocolVersion::V5;
  Reader r(body);
  Unsubscribe u;
  if (auto res = read_packet_id(r, u.packet_id); !res) return res.error();
  if (v5) {
    if (auto res = read_properties(r, kInUnsubscribe, u.properties); !res) return res.error();
  }
  while (!r.empty()) {
    std::string_view filter;
    if (auto res = read_utf8(r, filter); !res) return res.error();  // [MQTT-3.10.3-1]
    u.filters.push_back(filter);
  }
  if (u.filters.empty()) {
    // 5.0 [MQTT-3.10.3-2]: a Protocol Error; 3.1.1 [MQTT-3.10.3-2]: a protocol violation.
    return v5 ? protocol_error("UNSUBSCRIBE without filters")
              : malformed("UNSUBSCRIBE without filters");
  }
  return Packet{std::move(u)};
}

Result<Packet> decode_unsuback(uint8_t /*flags*/, ByteView body, ProtocolVersion v) {
  Reader r(body);
  Unsuback u;
  if (auto res = read_packet_id(r, u.packet_id); !res) return res.error();
  if (v == ProtocolVersion::V5) {
    if (auto res = read_properties(r, kInUnsuback, u.properties); !res) return res.error();
    if (auto res = read_reason_codes(r, unsuback_allowed, u.reason_codes); !res) {
      return res.error();
    }
  }
  if (!r.empty()) return malformed("trailing bytes in UNSUBACK");  // 3.1.1: no payload
  return Packet{std::move(u)};
}

}  // namespace hydrant::codec::detail
