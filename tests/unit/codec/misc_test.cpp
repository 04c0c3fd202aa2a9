// PINGREQ, PINGRESP, DISCONNECT and AUTH round trips; the UTF-8 validator; reason_name and
// packet_type; encoded_size() against encode() for a spread of packets.
#include <string>

#include "codec_test_util.hpp"
#include "base/utf8.hpp"

using namespace hydrant;
using namespace hydrant::codec;
using namespace hydrant::codec::test;

TEST_CASE("PINGREQ and PINGRESP") {
  for (V v : {V::V31, V::V311, V::V5}) {
    check_round_trip(Pingreq{}, v, bytes({0xC0, 0x00}));   // PINGREQ, remaining length 0
    check_round_trip(Pingresp{}, v, bytes({0xD0, 0x00}));  // PINGRESP, remaining length 0
  }
}

TEST_CASE("DISCONNECT 3.1.1 is two bytes whatever the reason") {
  check_round_trip(Disconnect{}, V::V311, bytes({0xE0, 0x00}));
  Disconnect d;
  d.reason_code = ReasonCode::ServerShuttingDown;
  d.properties.reason_string = "bye";
  CHECK(encode_checked(Packet{d}, V::V311) == bytes({0xE0, 0x00}));
}

TEST_CASE("DISCONNECT 5") {
  SUBCASE("normal, no properties: remaining length 0") {
    check_round_trip(Disconnect{}, V::V5, bytes({0xE0, 0x00}));
  }
  SUBCASE("reason only: remaining length 1") {
    Disconnect d;
    d.reason_code = ReasonCode::SessionTakenOver;
    check_round_trip(d, V::V5, bytes({
        0xE0,  // DISCONNECT
        0x01,  // remaining length 1
        0x8E,  // session taken over
    }));
  }
  SUBCASE("reason and properties") {
    Disconnect d;
    d.reason_code = ReasonCode::UseAnotherServer;
    d.properties.session_expiry_interval = 0;
    d.properties.server_reference = "s";
    check_round_trip(d, V::V5, bytes({
        0xE0,                          // DISCONNECT
        0x0B,                          // remaining length 11
        0x9C,                          // use another server
        0x09,                          // property length 9
        0x11, 0x00, 0x00, 0x00, 0x00,  //   session expiry interval 0
        0x1C, 0x00, 0x01, 's',         //   server reference "s"
    }));
  }
  SUBCASE("decode accepts Success with an empty property block") {
    CHECK(decode_as<Disconnect>(bytes({0xE0, 0x02, 0x00, 0x00}), V::V5) == Disconnect{});
  }
  SUBCASE("disconnect with will message") {
    Disconnect d;
    d.reason_code = ReasonCode::DisconnectWithWill;
    check_round_trip(d, V::V5, bytes({0xE0, 0x01, 0x04}));
  }
}

TEST_CASE("AUTH 5") {
  SUBCASE("success without properties: remaining length 0") {
    check_round_trip(Auth{}, V::V5, bytes({0xF0, 0x00}));
  }
  SUBCASE("continue authentication with method and data") {
    Auth a;
    a.reason_code = ReasonCode::ContinueAuthentication;
    a.properties.authentication_method = "m";
    a.properties.authentication_data = "d";
    a.properties.reason_string = "go";
    check_round_trip(a, V::V5, bytes({
        0xF0,                        // AUTH
        0x0F,                        // remaining length 15
        0x18,                        // continue authentication
        0x0D,                        // property length 13
        0x15, 0x00, 0x01, 'm',       //   authentication method
        0x16, 0x00, 0x01, 'd',       //   authentication data
        0x1F, 0x00, 0x02, 'g', 'o',  //   reason string
    }));
  }
  SUBCASE("a reason code is always followed by a property length on encode") {
    Auth a;
    a.reason_code = ReasonCode::ReAuthenticate;
    check_round_trip(a, V::V5, bytes({0xF0, 0x02, 0x19, 0x00}));
    // ... and decode tolerates its absence, as for DISCONNECT.
    CHECK(decode_as<Auth>(bytes({0xF0, 0x01, 0x19}), V::V5) == a);
  }
  SUBCASE("AUTH does not exist before MQTT 5: nothing is encoded") {
    Auth a;
    a.reason_code = ReasonCode::ContinueAuthentication;
    Bytes out;
    encode(Packet{a}, V::V311, out);
    CHECK(out.empty());
    CHECK(encoded_size(Packet{a}, V::V311) == 0);
  }
}

TEST_CASE("is_valid_utf8") {
  auto s = [](std::initializer_list<int> b) {
    std::string out;
    for (int x : b) out.push_back(static_cast<char>(x));
    return out;
  };
  SUBCASE("valid") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("exchange/gerrit/v1/patchset-created"));
    CHECK(is_valid_utf8("caf\xC3\xA9"));                        // U+00E9, 2 bytes
    CHECK(is_valid_utf8("\xE2\x82\xAC"));                        // U+20AC, 3 bytes
    CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));                    // U+1F600, 4 bytes
    CHECK(is_valid_utf8(s({0xC2, 0x80})));                       // U+0080, smallest 2-byte
    CHECK(is_valid_utf8(s({0xE0, 0xA0, 0x80})));                 // U+0800, smallest 3-byte
    CHECK(is_valid_utf8(s({0xED, 0x9F, 0xBF})));                 // U+D7FF, below surrogates
    CHECK(is_valid_utf8(s({0xEE, 0x80, 0x80})));                 // U+E000, above surrogates
    CHECK(is_valid_utf8(s({0xEF, 0xBB, 0xBF})));                 // U+FEFF kept [MQTT-1.5.4-3]
    CHECK(is_valid_utf8(s({0xEF, 0xBF, 0xBF})));                 // U+FFFF non-character: allowed
    CHECK(is_valid_utf8(s({0xF0, 0x90, 0x80, 0x80})));           // U+10000
    CHECK(is_valid_utf8(s({0xF4, 0x8F, 0xBF, 0xBF})));           // U+10FFFF
    CHECK(is_valid_utf8("\x01\x1F\x7F"));                        // control characters: allowed
    CHECK(is_valid_utf8("0123456789abcdef\xC3\xA9" "0123456789abcdef"));  // mixed, fast path
  }
  SUBCASE("U+0000 is refused [MQTT-1.5.4-2], in the fast path and the slow one") {
    CHECK_FALSE(is_valid_utf8(std::string_view("\0", 1)));
    CHECK_FALSE(is_valid_utf8(std::string_view("abcdefg\0", 8)));
    CHECK_FALSE(is_valid_utf8(std::string_view("abcdefghijk\0mnop", 16)));
    CHECK_FALSE(is_valid_utf8(std::string_view("\xC3\xA9\0", 3)));
    CHECK_FALSE(is_valid_utf8(s({0xC0, 0x80})));  // overlong NUL ("modified UTF-8")
  }
  SUBCASE("overlong forms") {
    CHECK_FALSE(is_valid_utf8(s({0xC0, 0xAF})));              // '/' in 2 bytes
    CHECK_FALSE(is_valid_utf8(s({0xC1, 0xBF})));
    CHECK_FALSE(is_valid_utf8(s({0xE0, 0x80, 0xAF})));        // '/' in 3 bytes
    CHECK_FALSE(is_valid_utf8(s({0xE0, 0x9F, 0xBF})));        // U+07FF in 3 bytes
    CHECK_FALSE(is_valid_utf8(s({0xF0, 0x80, 0x80, 0xAF})));  // '/' in 4 bytes
    CHECK_FALSE(is_valid_utf8(s({0xF0, 0x8F, 0xBF, 0xBF})));  // U+FFFF in 4 bytes
  }
  SUBCASE("surrogates U+D800..U+DFFF [MQTT-1.5.4-1]") {
    CHECK_FALSE(is_valid_utf8(s({0xED, 0xA0, 0x80})));  // U+D800
    CHECK_FALSE(is_valid_utf8(s({0xED, 0xBF, 0xBF})));  // U+DFFF
    CHECK_FALSE(is_valid_utf8(s({0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80})));  // CESU-8 pair
  }
  SUBCASE("above U+10FFFF") {
    CHECK_FALSE(is_valid_utf8(s({0xF4, 0x90, 0x80, 0x80})));  // U+110000
    CHECK_FALSE(is_valid_utf8(s({0xF5, 0x80, 0x80, 0x80})));
    CHECK_FALSE(is_valid_utf8(s({0xF8, 0x88, 0x80, 0x80, 0x80})));
    CHECK_FALSE(is_valid_utf8(s({0xFF})));
  }
  SUBCASE("truncated and broken sequences") {
    CHECK_FALSE(is_valid_utf8(s({0xC3})));
    CHECK_FALSE(is_valid_utf8(s({0xE2, 0x82})));
    CHECK_FALSE(is_valid_utf8(s({0xF0, 0x9F, 0x98})));
    CHECK_FALSE(is_valid_utf8("abcdefgh\xF0\x9F\x98"));  // truncated after the fast path
    CHECK_FALSE(is_valid_utf8(s({0x80})));               // lone continuation byte
    CHECK_FALSE(is_valid_utf8(s({0xC3, 0x41})));         // missing continuation
    CHECK_FALSE(is_valid_utf8(s({0xE2, 0x82, 0x41})));
    CHECK_FALSE(is_valid_utf8(s({0xF0, 0x9F, 0x98, 0x41})));
  }
  SUBCASE("every single byte") {
    for (int b = 0; b < 256; ++b) {
      CAPTURE(b);
      CHECK(is_valid_utf8(s({b})) == (b >= 1 && b < 0x80));
    }
  }
}

TEST_CASE("reason_name and packet_type") {
  CHECK(reason_name(ReasonCode::NotAuthorized) == "Not authorized");
  CHECK(reason_name(ReasonCode::MalformedPacket) == "Malformed Packet");
  CHECK(reason_name(static_cast<ReasonCode>(0x7F)) == "Unknown reason code");
  for (int b = 0; b < 256; ++b) CHECK_FALSE(reason_name(static_cast<ReasonCode>(b)).empty());
  CHECK(packet_type(Packet{Connect{}}) == PacketType::Connect);
  CHECK(packet_type(Packet{Ack{PacketType::Pubrel, 1, {}, {}}}) == PacketType::Pubrel);
  CHECK(packet_type(Packet{Auth{}}) == PacketType::Auth);
  CHECK(packet_type(Packet{Unsuback{}}) == PacketType::Unsuback);
}

TEST_CASE("encoded_size equals the bytes encode appends, for every packet and version") {
  const std::string big(20'000, 'p');  // 3-byte remaining length
  Properties props;
  props.reason_string = "why";
  props.user_properties = {{"a", "b"}, {"c", ""}};
  Properties user_only;  // allowed everywhere
  user_only.user_properties = props.user_properties;
  Publish pub;
  pub.qos = 2;
  pub.packet_id = 9;
  pub.topic = "x/y";
  pub.payload = big;
  pub.properties = user_only;
  pub.properties.subscription_identifiers = {1, 127, 128, 268'435'455};
  Connect con;
  con.protocol_version = V::V5;
  con.client_id = "id";
  con.will = Will{"w", big, 1, true, user_only};
  con.username = "u";
  con.password = "p";
  con.properties.maximum_packet_size = 1024;
  Subscribe sub;
  sub.packet_id = 1;
  sub.subscriptions = {{"a", {1, true, false, 1}}, {"b/#", {}}};
  sub.properties.subscription_identifiers = {5};
  Suback sa{3, props, {ReasonCode::GrantedQos2, ReasonCode::QuotaExceeded}};
  Unsubscribe un{4, user_only, {"a", "b"}};
  Unsuback ua{5, props, {ReasonCode::Success}};
  Connack ca{true, ReasonCode::Success, props};
  const Packet packets[] = {
      pub, con, sub, sa, un, ua, ca, Pingreq{}, Pingresp{},
      Ack{PacketType::Puback, 1, ReasonCode::Success, {}},
      Ack{PacketType::Pubrec, 1, ReasonCode::QuotaExceeded, {}},
      Ack{PacketType::Pubrel, 1, ReasonCode::Success, props},
      Ack{PacketType::Pubcomp, 1, ReasonCode::PacketIdentifierNotFound, props},
      Disconnect{}, Disconnect{ReasonCode::ServerBusy, {}}, Disconnect{ReasonCode::Success, props},
      Auth{}, Auth{ReasonCode::ContinueAuthentication, props},
  };
  for (V v : {V::V31, V::V311, V::V5}) {
    for (const Packet& p : packets) {
      CAPTURE(static_cast<int>(packet_type(p)));
      CAPTURE(static_cast<int>(v));
      Bytes out{0x55, 0x66};  // encode appends: existing bytes stay
      encode(p, v, out);
      CHECK(out.size() - 2 == encoded_size(p, v));
      CHECK(out[0] == 0x55);
      if (out.size() == 2) continue;  // AUTH before MQTT 5
      // The result is one frame that decodes back to a packet of the same type.
      const Bytes wire(out.begin() + 2, out.end());
      const V dv = std::holds_alternative<Connect>(p) ? std::get<Connect>(p).protocol_version : v;
      auto r = decode_bytes(wire, dv);
      REQUIRE_MESSAGE(r.ok(), r.error().context);
      CHECK(packet_type(*r) == packet_type(p));
      if (v == V::V5) CHECK(*r == p);
    }
  }
}
