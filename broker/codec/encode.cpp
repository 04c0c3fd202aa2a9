// encode() and encoded_size(): Packet → wire bytes for MQTT 3.1, 3.1.1 or 5. Each packet's body is
// described once, by a template over a sink (wire.hpp): SizeSink counts, ByteSink appends, so the
// Remaining Length, encoded_size() and the bytes written always agree.
//
// MQTT 5 only fields (properties, reason codes of acks, UNSUBACK payload) are dropped for 3.1 and
// 3.1.1. A CONNECT is written in its own protocol_version (as decode() reads it), not in the
// `version` argument. AUTH does not exist before MQTT 5: encode() appends nothing for it and
// encoded_size() is 0.
#include <cassert>
#include <type_traits>

#include "codec/codec.hpp"
#include "codec/wire.hpp"

namespace hydrant::codec {

namespace {

bool has_properties(const Properties& p) { return properties_size(p) != 0; }

// The version a packet is written in: CONNECT carries its own.
ProtocolVersion wire_version(const Packet& p, ProtocolVersion version) {
  if (const auto* c = std::get_if<Connect>(&p)) return c->protocol_version;
  return version;
}

uint8_t first_byte(const Packet& p) {
  const auto type = static_cast<uint8_t>(packet_type(p));
  if (const auto* pub = std::get_if<Publish>(&p)) {
    return static_cast<uint8_t>(type << 4 | (pub->dup ? 0x08 : 0) | (pub->qos & 0x03) << 1 |
                                (pub->retain ? 0x01 : 0));
  }
  switch (packet_type(p)) {
    case PacketType::Pubrel:
    case PacketType::Subscribe:
    case PacketType::Unsubscribe: return static_cast<uint8_t>(type << 4 | 0x02);
    default: return static_cast<uint8_t>(type << 4);
  }
}

// Writes everything after the fixed header.
template <class Sink>
struct BodyWriter {
  Sink& s;
  bool v5;
  ProtocolVersion version;

  void operator()(const Connect& c) {
    const bool v31 = c.protocol_version == ProtocolVersion::V31;
    s.str(v31 ? "MQIsdp" : "MQTT");
    s.u8(static_cast<uint8_t>(c.protocol_version));
    uint8_t flags = c.clean_start ? 0x02 : 0;
    if (c.will) {
      flags |= static_cast<uint8_t>(0x04 | (c.will->qos & 0x03) << 3 | (c.will->retain ? 0x20 : 0));
    }
    if (c.password) flags |= 0x40;
    if (c.username) flags |= 0x80;
    s.u8(flags);
    s.u16(c.keep_alive);
    if (v5) s.props(c.properties);
    s.str(c.client_id);
    if (c.will) {
      if (v5) s.props(c.will->properties);
      s.str(c.will->topic);
      s.str(c.will->payload);
    }
    if (c.username) s.str(*c.username);
    if (c.password) s.str(*c.password);
  }

  void operator()(const Connack& c) {
    if (v5) {
      s.u8(c.session_present ? 1 : 0);
      s.u8(static_cast<uint8_t>(c.reason_code));
      s.props(c.properties);
    } else {
      // 3.1 has no Session Present: the byte is unused there.
      s.u8(version == ProtocolVersion::V311 && c.session_present ? 1 : 0);
      s.u8(static_cast<uint8_t>(to_connack_311(c.reason_code)));
    }
  }

  void operator()(const Publish& p) {
    s.str(p.topic);
    if (p.qos > 0) s.u16(p.packet_id);
    if (v5) s.props(p.properties);
    s.raw(p.payload);
  }

  void operator()(const Ack& a) {
    s.u16(a.packet_id);
    if (!v5) return;
    // 3.4.2.1: reason code and property length may be omitted for Success without properties
    // (Remaining Length 2); the property length may be omitted when there are none (3).
    const bool props = has_properties(a.properties);
    if (a.reason_code == ReasonCode::Success && !props) return;
    s.u8(static_cast<uint8_t>(a.reason_code));
    if (props) s.props(a.properties);
  }

  void operator()(const Subscribe& sub) {
    s.u16(sub.packet_id);
    if (v5) s.props(sub.properties);
    for (const TopicSubscription& t : sub.subscriptions) {
      s.str(t.filter);
      const SubscriptionOptions& o = t.options;
      uint8_t b = o.max_qos & 0x03;
      if (v5) {
        b |= static_cast<uint8_t>((o.no_local ? 0x04 : 0) | (o.retain_as_published ? 0x08 : 0) |
                                  (o.retain_handling & 0x03) << 4);
      }
      s.u8(b);
    }
  }

  void operator()(const Suback& a) {
    s.u16(a.packet_id);
    if (v5) s.props(a.properties);
    for (ReasonCode rc : a.reason_codes) {
      // 3.1.1 knows only 0x00-0x02 and 0x80 Failure [MQTT-3.9.3-2].
      s.u8(!v5 && is_error(rc) ? uint8_t{0x80} : static_cast<uint8_t>(rc));
    }
  }

  void operator()(const Unsubscribe& u) {
    s.u16(u.packet_id);
    if (v5) s.props(u.properties);
    for (std::string_view f : u.filters) s.str(f);
  }

  void operator()(const Unsuback& u) {
    s.u16(u.packet_id);
    if (!v5) return;  // 3.1.1 UNSUBACK has no payload
    s.props(u.properties);
    for (ReasonCode rc : u.reason_codes) s.u8(static_cast<uint8_t>(rc));
  }

  void operator()(const Pingreq&) {}
  void operator()(const Pingresp&) {}

  void operator()(const Disconnect& d) {
    if (!v5) return;
    // 3.14.2.1: Remaining Length 0 means Normal disconnection; 1 means a reason and no properties.
    const bool props = has_properties(d.properties);
    if (d.reason_code == ReasonCode::Success && !props) return;
    s.u8(static_cast<uint8_t>(d.reason_code));
    if (props) s.props(d.properties);
  }

  void operator()(const Auth& a) {
    if (!v5) return;
    // 3.15.2.1: both may be omitted only together (Success, no properties).
    if (a.reason_code == ReasonCode::Success && !has_properties(a.properties)) return;
    s.u8(static_cast<uint8_t>(a.reason_code));
    s.props(a.properties);
  }
};

uint32_t body_size(const Packet& p, ProtocolVersion v) {
  detail::SizeSink sink;
  std::visit(BodyWriter<detail::SizeSink>{sink, v == ProtocolVersion::V5, v}, p);
  return sink.n;
}

bool unencodable(const Packet& p, ProtocolVersion v) {
  return v != ProtocolVersion::V5 && std::holds_alternative<Auth>(p);
}

}  // namespace

void encode(const Packet& packet, ProtocolVersion version, Bytes& out) {
  const ProtocolVersion v = wire_version(packet, version);
  if (unencodable(packet, v)) return;
  const uint32_t remaining = body_size(packet, v);
  assert(remaining <= kMaxRemainingLength);
  const size_t start = out.size();
  out.reserve(start + 1 + varint_size(remaining) + remaining);
  out.push_back(first_byte(packet));
  append_varint(remaining, out);
  detail::ByteSink sink{out};
  std::visit(BodyWriter<detail::ByteSink>{sink, v == ProtocolVersion::V5, v}, packet);
  assert(out.size() - start == 1 + varint_size(remaining) + remaining);
  (void)start;
}

uint32_t encoded_size(const Packet& packet, ProtocolVersion version) {
  const ProtocolVersion v = wire_version(packet, version);
  if (unencodable(packet, v)) return 0;
  const uint32_t remaining = body_size(packet, v);
  return 1 + varint_size(remaining) + remaining;
}

}  // namespace hydrant::codec
