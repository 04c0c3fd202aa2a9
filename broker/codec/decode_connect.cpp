// CONNECT and CONNACK decoding (MQTT 5.0 3.1, 3.2; MQTT 3.1.1 3.1, 3.2; MQTT 3.1 "MQIsdp").
// A CONNECT names its own protocol version, so decode_connect ignores the connection's; an
// unknown level under a known protocol name is UnsupportedProtocolVersion so that the session can
// answer CONNACK 0x84 (5) / 0x01 (3.1.1) before closing [MQTT-3.1.2-2]. Whether the client id is
// acceptable (empty, too long for 3.1), and authentication, are the session's business.
#include "codec/codec.hpp"
#include "codec/wire.hpp"

namespace hydrant::codec::detail {

namespace {

// Protocol Name + Protocol Level → version (3.1.2.1, 3.1.2.2).
Result<ProtocolVersion> read_protocol(Reader& r) {
  std::string_view name;
  uint8_t level = 0;
  if (!r.string(name) || !r.u8(level)) return malformed("truncated protocol name or level");
  if (name == "MQTT") {
    if (level == 4) return ProtocolVersion::V311;
    if (level == 5) return ProtocolVersion::V5;
  } else if (name == "MQIsdp") {
    if (level == 3) return ProtocolVersion::V31;
  } else {
    return malformed("unknown protocol name");  // [MQTT-3.1.2-1]
  }
  return Error{ReasonCode::UnsupportedProtocolVersion, "unsupported protocol level"};
}

}  // namespace

Result<Packet> decode_connect(uint8_t /*flags*/, ByteView body) {
  Reader r(body);
  auto version = read_protocol(r);
  if (!version) return version.error();
  Connect c;
  c.protocol_version = *version;
  const bool v5 = c.protocol_version == ProtocolVersion::V5;

  uint8_t cf = 0;
  if (!r.u8(cf) || !r.u16(c.keep_alive)) return malformed("truncated connect flags");
  if (cf & 0x01) return malformed("connect flags reserved bit set");  // [MQTT-3.1.2-3]
  c.clean_start = (cf & 0x02) != 0;
  const bool will_flag = (cf & 0x04) != 0;
  const auto will_qos = static_cast<uint8_t>((cf >> 3) & 0x03);
  const bool will_retain = (cf & 0x20) != 0;
  const bool password_flag = (cf & 0x40) != 0;
  const bool username_flag = (cf & 0x80) != 0;
  if (will_qos == 3) return malformed("will QoS 3");  // [MQTT-3.1.2-12]
  if (!will_flag && will_qos != 0) return malformed("will QoS without will");  // [MQTT-3.1.2-11]
  if (!will_flag && will_retain) return malformed("will retain without will");  // [MQTT-3.1.2-13]
  // 3.1 and 3.1.1 [MQTT-3.1.2-22]: no password without a user name. MQTT 5 allows it (3.1.2.9).
  if (!v5 && password_flag && !username_flag) return malformed("password without user name");

  if (v5) {
    if (auto res = read_properties(r, kInConnect, c.properties); !res) return res.error();
  }
  // Payload order is fixed: client id, will properties, will topic, will payload, user name,
  // password [MQTT-3.1.3-1]. The client id is a UTF-8 string [MQTT-3.1.3-4].
  if (auto res = read_utf8(r, c.client_id); !res) return res.error();
  if (will_flag) {
    Will w;
    w.qos = will_qos;
    w.retain = will_retain;
    if (v5) {
      if (auto res = read_properties(r, kInWill, w.properties); !res) return res.error();
    }
    if (auto res = read_utf8(r, w.topic); !res) return res.error();  // [MQTT-3.1.3-11]
    if (auto res = read_binary(r, w.payload); !res) return res.error();
    c.will = std::move(w);
  }
  if (username_flag) {
    std::string_view user;
    if (auto res = read_utf8(r, user); !res) return res.error();  // [MQTT-3.1.3-12]
    c.username = user;
  }
  if (password_flag) {
    std::string_view password;
    if (auto res = read_binary(r, password); !res) return res.error();
    c.password = password;
  }
  if (!r.empty()) return malformed("trailing bytes after CONNECT payload");
  return Packet{std::move(c)};
}

Result<Packet> decode_connack(uint8_t /*flags*/, ByteView body, ProtocolVersion v) {
  Reader r(body);
  Connack c;
  uint8_t ack_flags = 0;
  uint8_t rc = 0;
  if (!r.u8(ack_flags) || !r.u8(rc)) return malformed("truncated CONNACK");
  if (v == ProtocolVersion::V5) {
    if (ack_flags & 0xFE) return malformed("CONNACK reserved flags");  // [MQTT-3.2.2-1]
    c.session_present = (ack_flags & 0x01) != 0;
    // 3.2.2.2: the CONNACK reason codes.
    if (!is_one_of(rc, {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A,
                        0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F})) {
      return protocol_error("reason code not allowed in CONNACK");
    }
    c.reason_code = static_cast<ReasonCode>(rc);
    if (auto res = read_properties(r, kInConnack, c.properties); !res) return res.error();
  } else {
    // 3.1.1: bit 0 is Session Present, the rest reserved [MQTT-3.2.2-1]. In 3.1 the whole byte is
    // unused, so it is ignored there.
    if (v == ProtocolVersion::V311) {
      if (ack_flags & 0xFE) return malformed("CONNACK reserved flags");
      c.session_present = (ack_flags & 0x01) != 0;
    }
    switch (static_cast<ConnackReturnCode311>(rc)) {
      case ConnackReturnCode311::Accepted: c.reason_code = ReasonCode::Success; break;
      case ConnackReturnCode311::UnacceptableProtocolVersion:
        c.reason_code = ReasonCode::UnsupportedProtocolVersion;
        break;
      case ConnackReturnCode311::IdentifierRejected:
        c.reason_code = ReasonCode::ClientIdentifierNotValid;
        break;
      case ConnackReturnCode311::ServerUnavailable:
        c.reason_code = ReasonCode::ServerUnavailable;
        break;
      case ConnackReturnCode311::BadUserNameOrPassword:
        c.reason_code = ReasonCode::BadUserNameOrPassword;
        break;
      case ConnackReturnCode311::NotAuthorized: c.reason_code = ReasonCode::NotAuthorized; break;
      default: return malformed("reserved CONNACK return code");  // 3.2.2.3: 6-255 reserved
    }
  }
  if (!r.empty()) return malformed("trailing bytes in CONNACK");
  return Packet{std::move(c)};
}

}  // namespace hydrant::codec::detail

namespace hydrant::codec {

std::optional<ProtocolVersion> peek_connect_version(ByteView packet) {
  uint32_t remaining = 0;
  uint32_t used = 0;
  if (packet.empty() || (packet[0] >> 4) != static_cast<uint8_t>(PacketType::Connect)) return {};
  if (detail::read_varint(packet.data() + 1, packet.size() - 1, remaining, used) !=
      detail::VarintStatus::Ok) {
    return {};
  }
  detail::Reader r(packet.subspan(1 + used));
  auto version = detail::read_protocol(r);
  if (!version) return {};
  return version.value();
}

}  // namespace hydrant::codec
