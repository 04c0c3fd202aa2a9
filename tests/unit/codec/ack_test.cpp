// PUBACK, PUBREC, PUBREL and PUBCOMP round trips (MQTT 3.1.1 3.4-3.7, MQTT 5.0 3.4-3.7).
#include "codec_test_util.hpp"

using namespace hydrant;
using namespace hydrant::codec;
using namespace hydrant::codec::test;

namespace {

Ack make_ack(PacketType type, uint16_t id, ReasonCode rc = ReasonCode::Success) {
  Ack a;
  a.type = type;
  a.packet_id = id;
  a.reason_code = rc;
  return a;
}

// First byte of each ack: PUBREL has the reserved flags 0b0010 [MQTT-3.6.1-1].
const std::pair<PacketType, int> kAcks[] = {
    {PacketType::Puback, 0x40}, {PacketType::Pubrec, 0x50},
    {PacketType::Pubrel, 0x62}, {PacketType::Pubcomp, 0x70}};

}  // namespace

TEST_CASE("acks 3.1.1: packet id only") {
  for (const auto& [ack_type, first] : kAcks) {
    const PacketType type = ack_type;  // CAPTURE cannot name a structured binding (clang 14)
    CAPTURE(static_cast<int>(type));
    const Bytes wire = bytes({
        first,       // PUBACK / PUBREC / PUBREL / PUBCOMP
        0x02,        // remaining length 2
        0xAB, 0xCD,  // packet id
    });
    check_round_trip(make_ack(type, 0xABCD), V::V311, wire);
    check_round_trip(make_ack(type, 0xABCD), V::V31, wire);
  }
}

TEST_CASE("acks 3.1.1 drop the MQTT 5 reason code and properties") {
  Ack a = make_ack(PacketType::Puback, 1, ReasonCode::NotAuthorized);
  a.properties.reason_string = "x";
  CHECK(encode_checked(Packet{a}, V::V311) == bytes({0x40, 0x02, 0x00, 0x01}));
}

TEST_CASE("acks 5: Success without properties is 2 bytes (3.4.2.1)") {
  for (const auto& [ack_type, first] : kAcks) {
    const PacketType type = ack_type;  // CAPTURE cannot name a structured binding (clang 14)
    CAPTURE(static_cast<int>(type));
    check_round_trip(make_ack(type, 5), V::V5, bytes({
        first,       // ack
        0x02,        // remaining length 2: Success, no properties
        0x00, 0x05,  // packet id
    }));
  }
}

TEST_CASE("acks 5: reason code without properties is 3 bytes") {
  check_round_trip(make_ack(PacketType::Puback, 5, ReasonCode::NoMatchingSubscribers), V::V5,
                   bytes({
                       0x40,        // PUBACK
                       0x03,        // remaining length 3
                       0x00, 0x05,  // packet id
                       0x10,        // no matching subscribers
                   }));
  check_round_trip(make_ack(PacketType::Pubrec, 6, ReasonCode::QuotaExceeded), V::V5,
                   bytes({0x50, 0x03, 0x00, 0x06, 0x97}));
  check_round_trip(make_ack(PacketType::Pubrel, 7, ReasonCode::PacketIdentifierNotFound), V::V5,
                   bytes({0x62, 0x03, 0x00, 0x07, 0x92}));
  check_round_trip(make_ack(PacketType::Pubcomp, 8, ReasonCode::PacketIdentifierNotFound), V::V5,
                   bytes({0x70, 0x03, 0x00, 0x08, 0x92}));
}

TEST_CASE("acks 5: reason code and properties") {
  Ack a = make_ack(PacketType::Puback, 9, ReasonCode::PayloadFormatInvalid);
  a.properties.reason_string = "bad";
  a.properties.user_properties.push_back({"k", "v"});
  check_round_trip(a, V::V5, bytes({
      0x40,                          // PUBACK
      0x11,                          // remaining length 17
      0x00, 0x09,                    // packet id 9
      0x99,                          // payload format invalid
      0x0D,                          // property length 13
      0x1F, 0x00, 0x03, 'b', 'a', 'd',  // reason string
      0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',  // user property
  }));
  // Success with properties keeps the reason byte.
  Ack s = make_ack(PacketType::Pubcomp, 1);
  s.properties.reason_string = "";
  check_round_trip(s, V::V5, bytes({
      0x70,              // PUBCOMP
      0x07,              // remaining length 7
      0x00, 0x01,        // packet id
      0x00,              // success
      0x03,              // property length 3
      0x1F, 0x00, 0x00,  //   empty reason string
  }));
}

TEST_CASE("acks 5: decode accepts the long forms of Success") {
  // Reason byte present, no property length (remaining length 3).
  CHECK(decode_as<Ack>(bytes({0x40, 0x03, 0x00, 0x01, 0x00}), V::V5) ==
        make_ack(PacketType::Puback, 1));
  // Reason byte and an empty property block (remaining length 4).
  CHECK(decode_as<Ack>(bytes({0x40, 0x04, 0x00, 0x01, 0x00, 0x00}), V::V5) ==
        make_ack(PacketType::Puback, 1));
}

TEST_CASE("acks 5: every allowed reason code decodes, every other is a protocol error") {
  const uint8_t puback_ok[] = {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99};
  const uint8_t pubrel_ok[] = {0x00, 0x92};
  for (auto [type, first] : kAcks) {
    const bool pub = type == PacketType::Puback || type == PacketType::Pubrec;
    for (int rc = 0; rc < 256; ++rc) {
      bool allowed = false;
      if (pub) {
        for (uint8_t x : puback_ok) allowed |= x == rc;
      } else {
        for (uint8_t x : pubrel_ok) allowed |= x == rc;
      }
      CAPTURE(rc);
      CHECK(decode_code(bytes({first, 0x03, 0x00, 0x01, rc}), V::V5) ==
            (allowed ? ReasonCode::Success : ReasonCode::ProtocolError));
    }
  }
}

TEST_CASE("acks 3.1: a re-sent PUBREL with DUP (flags 0x0A) is accepted at protocol level 3 only") {
  const auto pubrel_dup = bytes({0x6A, 0x02, 0x00, 0x07});
  CHECK(decode_as<Ack>(pubrel_dup, V::V31) == make_ack(PacketType::Pubrel, 7));
  CHECK(decode_code(pubrel_dup, V::V311) == ReasonCode::MalformedPacket);
  CHECK(decode_code(pubrel_dup, V::V5) == ReasonCode::MalformedPacket);
  // Other flags stay malformed at level 3 as well.
  CHECK(decode_code(bytes({0x60, 0x02, 0x00, 0x07}), V::V31) == ReasonCode::MalformedPacket);
  CHECK(decode_code(bytes({0x6B, 0x02, 0x00, 0x07}), V::V31) == ReasonCode::MalformedPacket);
}
