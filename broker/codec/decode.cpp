// decode(): one complete packet's bytes → Packet. This file holds the dispatch with the fixed-header
// checks every packet shares, and the small packets (PUBLISH, the four publish acks, PINGREQ,
// PINGRESP, DISCONNECT, AUTH). CONNECT/CONNACK live in decode_connect.cpp, SUBSCRIBE and friends
// in decode_subscribe.cpp.
//
// The codec enforces what the spec asks of any receiver of the packet (format, reserved bits,
// lengths, UTF-8, property sets). It does not check what depends on the connection's state or on
// the broker's policy: topic wildcards, topic alias ranges, receive maximum, packet id reuse.
#include <limits>

#include "codec/codec.hpp"
#include "codec/wire.hpp"

namespace hydrant::codec {

namespace {

using detail::is_one_of;
using detail::malformed;
using detail::Reader;

// Reason codes each packet may carry (MQTT 5.0 3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1, 3.14.2.1,
// 3.15.2.1). Any other value is a Protocol Error.
bool reason_allowed(PacketType type, uint8_t rc) {
  switch (type) {
    case PacketType::Puback:
    case PacketType::Pubrec:
      return is_one_of(rc, {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99});
    case PacketType::Pubrel:
    case PacketType::Pubcomp:
      return is_one_of(rc, {0x00, 0x92});
    case PacketType::Disconnect:
      return rc == 0x00 || rc == 0x04 ||
             (rc >= 0x80 && rc <= 0xA2 &&
              !is_one_of(rc, {0x84, 0x85, 0x86, 0x88, 0x8A, 0x8C, 0x91, 0x92}));
    case PacketType::Auth:
      return is_one_of(rc, {0x00, 0x18, 0x19});
    default:
      return false;
  }
}

Result<Packet> decode_publish(uint8_t flags, ByteView body, ProtocolVersion v) {
  Publish p;
  p.dup = (flags & 0x08) != 0;
  p.qos = static_cast<uint8_t>((flags >> 1) & 0x03);
  p.retain = (flags & 0x01) != 0;
  if (p.qos == 3) return malformed("PUBLISH QoS 3");  // [MQTT-3.3.1-4]
  if (p.dup && p.qos == 0) return malformed("PUBLISH DUP with QoS 0");  // [MQTT-3.3.1-2]
  Reader r(body);
  // [MQTT-3.3.2-1] the topic is a UTF-8 string; wildcards and emptiness are checked by the
  // session (an empty topic is legal in MQTT 5 together with a Topic Alias).
  if (auto res = detail::read_utf8(r, p.topic); !res) return res.error();
  if (p.qos > 0) {
    if (!r.u16(p.packet_id)) return malformed("truncated packet identifier");
    if (p.packet_id == 0) return malformed("packet identifier 0");  // [MQTT-2.2.1-3]
  }
  if (v == ProtocolVersion::V5) {
    if (auto res = detail::read_properties(r, detail::kInPublish, p.properties); !res) {
      return res.error();
    }
  }
  p.payload = r.rest();  // the payload is whatever remains, possibly empty (3.3.3)
  return Packet{std::move(p)};
}

// PUBACK, PUBREC, PUBREL, PUBCOMP.
Result<Packet> decode_ack(PacketType type, ByteView body, ProtocolVersion v) {
  Ack a;
  a.type = type;
  Reader r(body);
  if (!r.u16(a.packet_id)) return malformed("truncated packet identifier");
  if (a.packet_id == 0) return malformed("packet identifier 0");  // [MQTT-2.2.1-3]
  if (v == ProtocolVersion::V5 && !r.empty()) {
    // Remaining Length 2: Success and no properties; 3: reason code only (3.4.2.1, 3.4.2.2.1).
    uint8_t rc = 0;
    (void)r.u8(rc);
    if (!reason_allowed(type, rc)) {
      return detail::protocol_error("reason code not allowed in this ack");
    }
    a.reason_code = static_cast<ReasonCode>(rc);
    if (!r.empty()) {
      if (auto res = detail::read_properties(r, detail::kInPubAck, a.properties); !res) {
        return res.error();
      }
    }
  }
  if (!r.empty()) return malformed("trailing bytes in ack");
  return Packet{std::move(a)};
}

// DISCONNECT and AUTH share their MQTT 5 shape: nothing (Success, no properties), a reason code
// alone (Remaining Length 1, 3.14.2.2.1), or a reason code and a property block.
template <class T>
Result<Packet> decode_reason_and_props(PacketType type, ByteView body, detail::PropContext ctx) {
  T t;
  Reader r(body);
  if (!r.empty()) {
    uint8_t rc = 0;
    (void)r.u8(rc);
    if (!reason_allowed(type, rc)) {
      return detail::protocol_error("reason code not allowed in this packet");
    }
    t.reason_code = static_cast<ReasonCode>(rc);
    if (!r.empty()) {
      if (auto res = detail::read_properties(r, ctx, t.properties); !res) return res.error();
    }
  }
  if (!r.empty()) return malformed("trailing bytes");
  return Packet{std::move(t)};
}

// The reserved low nibble of the fixed header must be exactly as the spec lists it
// [MQTT-2.1.3-1] (3.1.1: [MQTT-2.2.2-1], [MQTT-2.2.2-2]). PUBLISH is checked in decode_publish.
// MQTT 3.1 (protocol level 3) let PUBREL carry DUP when re-sent (3.1 section 3.6), and 3.1
// clients still do: for level 3 only, 0x0A passes as well.
bool fixed_flags_ok(PacketType type, uint8_t flags, ProtocolVersion version) {
  switch (type) {
    case PacketType::Publish: return true;
    case PacketType::Pubrel:  // [MQTT-3.6.1-1]
      return flags == 0x02 || (version == ProtocolVersion::V31 && flags == 0x0A);
    case PacketType::Subscribe:  // [MQTT-3.8.1-1]
    case PacketType::Unsubscribe:  // [MQTT-3.10.1-1]
      return flags == 0x02;
    default: return flags == 0;
  }
}

}  // namespace

Result<Packet> decode(ByteView packet, ProtocolVersion version) {
  auto frame = parse_frame(packet, std::numeric_limits<uint32_t>::max());
  if (!frame) return frame.error();
  if (!*frame || (*frame)->total_size() != packet.size()) {
    return malformed("packet length does not match remaining length");
  }
  const Frame& f = **frame;
  const uint8_t flags = f.first_byte & 0x0F;
  const ByteView body = packet.subspan(f.header_size);
  const PacketType type = f.type();
  const bool v5 = version == ProtocolVersion::V5;
  if (!fixed_flags_ok(type, flags, version)) return malformed("reserved fixed header flags");

  switch (type) {
    case PacketType::Connect: return detail::decode_connect(flags, body);
    case PacketType::Connack: return detail::decode_connack(flags, body, version);
    case PacketType::Publish: return decode_publish(flags, body, version);
    case PacketType::Puback:
    case PacketType::Pubrec:
    case PacketType::Pubrel:
    case PacketType::Pubcomp: return decode_ack(type, body, version);
    case PacketType::Subscribe: return detail::decode_subscribe(flags, body, version);
    case PacketType::Suback: return detail::decode_suback(flags, body, version);
    case PacketType::Unsubscribe: return detail::decode_unsubscribe(flags, body, version);
    case PacketType::Unsuback: return detail::decode_unsuback(flags, body, version);
    case PacketType::Pingreq:
      if (!body.empty()) return malformed("PINGREQ with a body");  // 3.12.2: no variable header
      return Packet{Pingreq{}};
    case PacketType::Pingresp:
      if (!body.empty()) return malformed("PINGRESP with a body");
      return Packet{Pingresp{}};
    case PacketType::Disconnect:
      if (!v5) {
        if (!body.empty()) return malformed("DISCONNECT with a body");  // 3.1.1 3.14.2
        return Packet{Disconnect{}};
      }
      return decode_reason_and_props<Disconnect>(type, body, detail::kInDisconnect);
    case PacketType::Auth:
      if (!v5) return malformed("AUTH before MQTT 5");  // type 15 is reserved in 3.1.1
      return decode_reason_and_props<Auth>(type, body, detail::kInAuth);
  }
  return malformed("packet type 0");  // parse_frame already refused it
}

}  // namespace hydrant::codec
