// Malformed and protocol-violating packets: one SUBCASE per rule, each checking the exact reason
// code decode() yields (0x81 Malformed Packet, 0x82 Protocol Error, 0x84 Unsupported Protocol
// Version).
#include "codec_test_util.hpp"

using namespace hydrant;
using namespace hydrant::codec;
using namespace hydrant::codec::test;

namespace {

constexpr ReasonCode kMalformed = ReasonCode::MalformedPacket;
constexpr ReasonCode kProtocol = ReasonCode::ProtocolError;

Bytes frame(uint8_t first, const Bytes& body) {
  Bytes out{first};
  append_varint(static_cast<uint32_t>(body.size()), out);
  return out + body;
}

// CONNECT 3.1.1/5 body with the given name, level and flags; client id "c" and then `tail`.
Bytes connect_body(std::string_view name, int level, int flags, const Bytes& tail = {}) {
  Bytes b;
  append_string(name, b);
  b = b + bytes({level, flags, 0x00, 0x3C});
  if (level == 5) b.push_back(0x00);  // property length
  return b + bytes({0x00, 0x01, 'c'}) + tail;
}

}  // namespace

TEST_CASE("fixed header") {
  SUBCASE("reserved flag bits must be exactly as listed [MQTT-2.1.3-1]") {
    const int bad_first_bytes[] = {0x11, 0x18, 0x21, 0x41, 0x58, 0x60, 0x63, 0x6A, 0x71, 0x80,
                                   0x83, 0x8A, 0x92, 0xA0, 0xA3, 0xB1, 0xC1, 0xD8, 0xE1, 0xF1};
    for (int first : bad_first_bytes) {
      CAPTURE(first);
      // Pad to a plausible body; the flags are checked before anything else.
      CHECK(decode_code(bytes({first, 0x02, 0x00, 0x01}), V::V5) == kMalformed);
      CHECK(decode_code(bytes({first, 0x02, 0x00, 0x01}), V::V311) == kMalformed);
    }
  }
  SUBCASE("PUBLISH QoS 3 [MQTT-3.3.1-4]") {
    CHECK(decode_code(bytes({0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01}), V::V311) == kMalformed);
  }
  SUBCASE("PUBLISH DUP with QoS 0 [MQTT-3.3.1-2]") {
    CHECK(decode_code(bytes({0x38, 0x03, 0x00, 0x01, 't'}), V::V311) == kMalformed);
  }
  SUBCASE("packet type 0") {
    CHECK(decode_code(bytes({0x00, 0x00}), V::V311) == kMalformed);
  }
  SUBCASE("span longer or shorter than the frame") {
    CHECK(decode_code(bytes({0xC0, 0x00, 0x00}), V::V311) == kMalformed);
    CHECK(decode_code(bytes({0x30, 0x05, 0x00, 0x01, 't'}), V::V311) == kMalformed);
    CHECK(decode_code(bytes({0x30}), V::V311) == kMalformed);
    CHECK(decode_code(Bytes{}, V::V311) == kMalformed);
  }
  SUBCASE("remaining length of 5 bytes") {
    CHECK(decode_code(bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), V::V311) == kMalformed);
  }
  SUBCASE("AUTH before MQTT 5") {
    CHECK(decode_code(bytes({0xF0, 0x00}), V::V311) == kMalformed);
    CHECK(decode_code(bytes({0xF0, 0x00}), V::V31) == kMalformed);
  }
}

TEST_CASE("CONNECT") {
  SUBCASE("valid baselines decode") {
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 4, 0x02)), V::V311) == ReasonCode::Success);
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 5, 0x02)), V::V311) == ReasonCode::Success);
    CHECK(decode_code(frame(0x10, connect_body("MQIsdp", 3, 0x02)), V::V5) == ReasonCode::Success);
  }
  SUBCASE("unknown protocol name [MQTT-3.1.2-1]") {
    CHECK(decode_code(frame(0x10, connect_body("MQTX", 4, 0x02)), V::V311) == kMalformed);
    CHECK(decode_code(frame(0x10, connect_body("mqtt", 5, 0x02)), V::V311) == kMalformed);
    CHECK(decode_code(frame(0x10, connect_body("", 4, 0x02)), V::V311) == kMalformed);
  }
  SUBCASE("known name, unsupported level [MQTT-3.1.2-2]") {
    const auto unsupported = ReasonCode::UnsupportedProtocolVersion;
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 3, 0x02)), V::V311) == unsupported);
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 6, 0x02)), V::V311) == unsupported);
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 0, 0x02)), V::V311) == unsupported);
    CHECK(decode_code(frame(0x10, connect_body("MQIsdp", 4, 0x02)), V::V311) == unsupported);
    // Known even when the rest of the packet is missing: the CONNACK can still be sent.
    CHECK(decode_code(bytes({0x10, 0x07, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x07}), V::V311) ==
          unsupported);
  }
  SUBCASE("reserved connect flag [MQTT-3.1.2-3]") {
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 4, 0x03)), V::V311) == kMalformed);
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 5, 0x01)), V::V5) == kMalformed);
  }
  SUBCASE("will QoS 3 [MQTT-3.1.2-12]") {
    const Bytes will = bytes({0x00, 0x01, 't', 0x00, 0x01, 'm'});
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 4, 0x1E, will)), V::V311) == kMalformed);
  }
  SUBCASE("will QoS or retain without the will flag [MQTT-3.1.2-11, MQTT-3.1.2-13]") {
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 4, 0x0A)), V::V311) == kMalformed);
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 4, 0x12)), V::V311) == kMalformed);
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 5, 0x22)), V::V5) == kMalformed);
  }
  SUBCASE("password without user name in 3.1 and 3.1.1 [MQTT-3.1.2-22]") {
    const Bytes pw = bytes({0x00, 0x01, 'p'});
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 4, 0x42, pw)), V::V311) == kMalformed);
    CHECK(decode_code(frame(0x10, connect_body("MQIsdp", 3, 0x42, pw)), V::V311) == kMalformed);
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 5, 0x42, pw)), V::V5) ==
          ReasonCode::Success);
  }
  SUBCASE("client id not UTF-8 [MQTT-3.1.3-4]") {
    Bytes b = connect_body("MQTT", 4, 0x02);
    b.back() = 0xFF;
    CHECK(decode_code(frame(0x10, b), V::V311) == kMalformed);
    b.back() = 0x00;
    CHECK(decode_code(frame(0x10, b), V::V311) == kMalformed);
  }
  SUBCASE("will topic not UTF-8") {
    const Bytes will = bytes({0x00, 0x01, 0xC0, 0x00, 0x01, 'm'});
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 4, 0x06, will)), V::V311) == kMalformed);
  }
  SUBCASE("user name not UTF-8") {
    const Bytes user = bytes({0x00, 0x02, 0xED, 0xA0});
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 4, 0x82, user)), V::V311) == kMalformed);
  }
  SUBCASE("binary password and will payload are not checked") {
    const Bytes tail = bytes({0x00, 0x01, 't', 0x00, 0x01, 0xFF,  // will
                              0x00, 0x01, 'u', 0x00, 0x02, 0x00, 0xFF});
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 4, 0xC6, tail)), V::V311) ==
          ReasonCode::Success);
  }
  SUBCASE("trailing bytes after the payload") {
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 4, 0x02, bytes({0x00}))), V::V311) ==
          kMalformed);
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 5, 0x02, bytes({0x00}))), V::V5) ==
          kMalformed);
  }
  SUBCASE("flagged fields missing") {
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 4, 0x82)), V::V311) == kMalformed);
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 4, 0xC2, bytes({0x00, 0x01, 'u'}))),
                      V::V311) == kMalformed);
    CHECK(decode_code(frame(0x10, connect_body("MQTT", 4, 0x06, bytes({0x00, 0x01, 't'}))),
                      V::V311) == kMalformed);
  }
  SUBCASE("every truncation of a full CONNECT 5 is malformed") {
    Connect c;
    c.protocol_version = V::V5;
    c.client_id = "id";
    c.will = Will{"w", "m", 1, false, {}};
    c.will->properties.content_type = "ct";
    c.username = "u";
    c.password = "p";
    c.properties.receive_maximum = 5;
    const Bytes full = encode_checked(Packet{c}, V::V5);
    const Bytes body(full.begin() + 2, full.end());
    for (size_t k = 0; k < body.size(); ++k) {
      CAPTURE(k);
      CHECK(decode_code(frame(0x10, Bytes(body.begin(), body.begin() + k)), V::V5) == kMalformed);
    }
  }
}

TEST_CASE("CONNACK") {
  SUBCASE("reserved acknowledge flags [MQTT-3.2.2-1]") {
    CHECK(decode_code(bytes({0x20, 0x02, 0x02, 0x00}), V::V311) == kMalformed);
    CHECK(decode_code(bytes({0x20, 0x03, 0x80, 0x00, 0x00}), V::V5) == kMalformed);
  }
  SUBCASE("3.1.1 reserved return code") {
    CHECK(decode_code(bytes({0x20, 0x02, 0x00, 0x06}), V::V311) == kMalformed);
    CHECK(decode_code(bytes({0x20, 0x02, 0x00, 0x80}), V::V311) == kMalformed);
  }
  SUBCASE("3.1.1 wrong length") {
    CHECK(decode_code(bytes({0x20, 0x03, 0x00, 0x00, 0x00}), V::V311) == kMalformed);
    CHECK(decode_code(bytes({0x20, 0x01, 0x00}), V::V311) == kMalformed);
  }
  SUBCASE("5 reason code not allowed in CONNACK") {
    CHECK(decode_code(bytes({0x20, 0x03, 0x00, 0x01, 0x00}), V::V5) == kProtocol);
    CHECK(decode_code(bytes({0x20, 0x03, 0x00, 0x8E, 0x00}), V::V5) == kProtocol);
  }
  SUBCASE("5 property length missing") {
    CHECK(decode_code(bytes({0x20, 0x02, 0x00, 0x00}), V::V5) == kMalformed);
  }
}

TEST_CASE("PUBLISH") {
  SUBCASE("topic not UTF-8 [MQTT-3.3.2-1]") {
    CHECK(decode_code(bytes({0x30, 0x04, 0x00, 0x02, 'a', 0xFF}), V::V311) == kMalformed);
    CHECK(decode_code(bytes({0x30, 0x04, 0x00, 0x02, 'a', 0x00}), V::V311) == kMalformed);
  }
  SUBCASE("topic longer than the packet") {
    CHECK(decode_code(bytes({0x30, 0x03, 0x00, 0x05, 'a'}), V::V311) == kMalformed);
    CHECK(decode_code(bytes({0x30, 0x01, 0x00}), V::V311) == kMalformed);
  }
  SUBCASE("packet id 0 with QoS > 0 [MQTT-2.2.1-3]") {
    CHECK(decode_code(bytes({0x32, 0x05, 0x00, 0x01, 't', 0x00, 0x00}), V::V311) == kMalformed);
    CHECK(decode_code(bytes({0x34, 0x06, 0x00, 0x01, 't', 0x00, 0x00, 0x00}), V::V5) ==
          kMalformed);
  }
  SUBCASE("packet id missing with QoS > 0") {
    CHECK(decode_code(bytes({0x32, 0x04, 0x00, 0x01, 't', 0x00}), V::V311) == kMalformed);
  }
  SUBCASE("wildcards and empty topics are left to the session") {
    CHECK(decode_code(bytes({0x30, 0x03, 0x00, 0x01, '#'}), V::V311) == ReasonCode::Success);
    CHECK(decode_code(bytes({0x30, 0x02, 0x00, 0x00}), V::V311) == ReasonCode::Success);
  }
}

TEST_CASE("PUBACK, PUBREC, PUBREL, PUBCOMP") {
  for (int first : {0x40, 0x50, 0x62, 0x70}) {
    CAPTURE(first);
    SUBCASE("packet id 0") {
      CHECK(decode_code(bytes({first, 0x02, 0x00, 0x00}), V::V311) == kMalformed);
      CHECK(decode_code(bytes({first, 0x02, 0x00, 0x00}), V::V5) == kMalformed);
    }
    SUBCASE("3.1.1 remaining length other than 2") {
      CHECK(decode_code(bytes({first, 0x03, 0x00, 0x01, 0x00}), V::V311) == kMalformed);
      CHECK(decode_code(bytes({first, 0x01, 0x01}), V::V311) == kMalformed);
      CHECK(decode_code(bytes({first, 0x00}), V::V311) == kMalformed);
    }
    SUBCASE("5 trailing bytes after the properties") {
      CHECK(decode_code(bytes({first, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00}), V::V5) == kMalformed);
    }
    SUBCASE("5 too short") {
      CHECK(decode_code(bytes({first, 0x01, 0x01}), V::V5) == kMalformed);
    }
  }
}

TEST_CASE("SUBSCRIBE") {
  auto sub = [](const Bytes& payload) { return frame(0x82, bytes({0x00, 0x01}) + payload); };
  auto sub5 = [](const Bytes& payload) { return frame(0x82, bytes({0x00, 0x01, 0x00}) + payload); };
  SUBCASE("packet id 0") {
    CHECK(decode_code(bytes({0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 't', 0x00}), V::V311) ==
          kMalformed);
  }
  SUBCASE("no filter: malformed in 3.1.1 [MQTT-3.8.3-3], protocol error in 5") {
    CHECK(decode_code(sub({}), V::V311) == kMalformed);
    CHECK(decode_code(sub5({}), V::V5) == kProtocol);
  }
  SUBCASE("empty filter [MQTT-4.7.3-1]") {
    CHECK(decode_code(sub(bytes({0x00, 0x00, 0x00})), V::V311) == kMalformed);
    CHECK(decode_code(sub5(bytes({0x00, 0x00, 0x00})), V::V5) == kMalformed);
  }
  SUBCASE("filter not UTF-8") {
    CHECK(decode_code(sub(bytes({0x00, 0x01, 0xFF, 0x00})), V::V311) == kMalformed);
  }
  SUBCASE("options byte missing") {
    CHECK(decode_code(sub(bytes({0x00, 0x01, 't'})), V::V311) == kMalformed);
    CHECK(decode_code(sub(bytes({0x00, 0x01, 't', 0x00, 0x00, 0x01, 'u'})), V::V311) ==
          kMalformed);
  }
  SUBCASE("3.1.1 requested QoS reserved bits [MQTT-3-8.3-4]") {
    for (int o : {0x03, 0x04, 0x08, 0x10, 0x40, 0x80, 0xFF}) {
      CAPTURE(o);
      CHECK(decode_code(sub(bytes({0x00, 0x01, 't', o})), V::V311) == kMalformed);
    }
  }
  SUBCASE("5 options: reserved bits [MQTT-3.8.3-5], QoS 3, retain handling 3") {
    for (int o : {0x40, 0x80, 0xC0, 0x03}) {
      CAPTURE(o);
      CHECK(decode_code(sub5(bytes({0x00, 0x01, 't', o})), V::V5) == kMalformed);
    }
    // Retain handling 3 is a Protocol Error (3.8.3.1); reserved bits or QoS 3 still win.
    CHECK(decode_code(sub5(bytes({0x00, 0x01, 't', 0x30})), V::V5) == ReasonCode::ProtocolError);
    CHECK(decode_code(sub5(bytes({0x00, 0x01, 't', 0x3F})), V::V5) == kMalformed);
    CHECK(decode_code(sub5(bytes({0x00, 0x01, 't', 0x2E})), V::V5) == ReasonCode::Success);
  }
  SUBCASE("5 properties missing") {
    CHECK(decode_code(frame(0x82, bytes({0x00, 0x01})), V::V5) == kMalformed);
  }
}

TEST_CASE("SUBACK") {
  SUBCASE("no reason codes") {
    CHECK(decode_code(bytes({0x90, 0x02, 0x00, 0x01}), V::V311) == kMalformed);
    CHECK(decode_code(bytes({0x90, 0x03, 0x00, 0x01, 0x00}), V::V5) == kMalformed);
  }
  SUBCASE("reason codes outside the packet's set") {
    CHECK(decode_code(bytes({0x90, 0x03, 0x00, 0x01, 0x87}), V::V311) == kProtocol);
    CHECK(decode_code(bytes({0x90, 0x03, 0x00, 0x01, 0x03}), V::V311) == kProtocol);
    CHECK(decode_code(bytes({0x90, 0x04, 0x00, 0x01, 0x00, 0x10}), V::V5) == kProtocol);
    CHECK(decode_code(bytes({0x90, 0x04, 0x00, 0x01, 0x00, 0x87}), V::V5) == ReasonCode::Success);
  }
  SUBCASE("packet id 0") {
    CHECK(decode_code(bytes({0x90, 0x03, 0x00, 0x00, 0x00}), V::V311) == kMalformed);
  }
}

TEST_CASE("UNSUBSCRIBE") {
  SUBCASE("packet id 0") {
    CHECK(decode_code(bytes({0xA2, 0x05, 0x00, 0x00, 0x00, 0x01, 't'}), V::V311) == kMalformed);
  }
  SUBCASE("no filter: malformed in 3.1.1, protocol error in 5 [MQTT-3.10.3-2]") {
    CHECK(decode_code(bytes({0xA2, 0x02, 0x00, 0x01}), V::V311) == kMalformed);
    CHECK(decode_code(bytes({0xA2, 0x03, 0x00, 0x01, 0x00}), V::V5) == kProtocol);
  }
  SUBCASE("filter not UTF-8") {
    CHECK(decode_code(bytes({0xA2, 0x05, 0x00, 0x01, 0x00, 0x01, 0xC3}), V::V311) == kMalformed);
  }
  SUBCASE("truncated filter") {
    CHECK(decode_code(bytes({0xA2, 0x05, 0x00, 0x01, 0x00, 0x03, 'a'}), V::V311) == kMalformed);
  }
}

TEST_CASE("UNSUBACK") {
  SUBCASE("3.1.1 has no payload") {
    CHECK(decode_code(bytes({0xB0, 0x03, 0x00, 0x01, 0x00}), V::V311) == kMalformed);
  }
  SUBCASE("5 needs at least one reason code") {
    CHECK(decode_code(bytes({0xB0, 0x03, 0x00, 0x01, 0x00}), V::V5) == kMalformed);
  }
  SUBCASE("5 reason code outside the set") {
    CHECK(decode_code(bytes({0xB0, 0x04, 0x00, 0x01, 0x00, 0x01}), V::V5) == kProtocol);
  }
  SUBCASE("packet id 0") {
    CHECK(decode_code(bytes({0xB0, 0x02, 0x00, 0x00}), V::V311) == kMalformed);
  }
}

TEST_CASE("PINGREQ, PINGRESP, DISCONNECT, AUTH") {
  SUBCASE("PINGREQ and PINGRESP with a body") {
    CHECK(decode_code(bytes({0xC0, 0x01, 0x00}), V::V311) == kMalformed);
    CHECK(decode_code(bytes({0xD0, 0x01, 0x00}), V::V5) == kMalformed);
  }
  SUBCASE("DISCONNECT 3.1.1 with a body") {
    CHECK(decode_code(bytes({0xE0, 0x01, 0x00}), V::V311) == kMalformed);
  }
  SUBCASE("DISCONNECT 5 reason code outside the set") {
    for (int rc : {0x01, 0x02, 0x84, 0x85, 0x86, 0x88, 0x8A, 0x8C, 0x91, 0x92, 0xA3, 0xFF}) {
      CAPTURE(rc);
      CHECK(decode_code(bytes({0xE0, 0x01, rc}), V::V5) == kProtocol);
    }
  }
  SUBCASE("DISCONNECT 5 trailing bytes") {
    CHECK(decode_code(bytes({0xE0, 0x03, 0x00, 0x00, 0x00}), V::V5) == kMalformed);
  }
  SUBCASE("AUTH 5 reason code outside the set") {
    CHECK(decode_code(bytes({0xF0, 0x02, 0x87, 0x00}), V::V5) == kProtocol);
    CHECK(decode_code(bytes({0xF0, 0x02, 0x04, 0x00}), V::V5) == kProtocol);
  }
}
