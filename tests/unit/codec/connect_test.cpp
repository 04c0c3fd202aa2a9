// CONNECT and CONNACK round trips for MQTT 3.1, 3.1.1 and 5.
#include "codec_test_util.hpp"

using namespace hydrant;
using namespace hydrant::codec;
using namespace hydrant::codec::test;

TEST_CASE("CONNECT 3.1.1 minimal") {
  Connect c;
  c.protocol_version = V::V311;
  c.clean_start = true;
  c.keep_alive = 60;
  c.client_id = "cid";
  check_round_trip(c, V::V311, bytes({
      0x10,                          // CONNECT
      0x0F,                          // remaining length 15
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
      0x04,                          // level 4 (3.1.1)
      0x02,                          // flags: clean session
      0x00, 0x3C,                    // keep alive 60
      0x00, 0x03, 'c', 'i', 'd',     // client id
  }));
}

TEST_CASE("CONNECT 3.1.1 with will, user name and password") {
  Connect c;
  c.protocol_version = V::V311;
  c.clean_start = false;
  c.keep_alive = 10;
  c.client_id = "c";
  c.will = Will{"w/t", "bye", 1, true, {}};
  c.username = "u";
  c.password = "p";
  check_round_trip(c, V::V311, bytes({
      0x10,                          // CONNECT
      0x1D,                          // remaining length 29
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
      0x04,                          // level 4
      0xEC,                          // user name, password, will retain, will QoS 1, will
      0x00, 0x0A,                    // keep alive 10
      0x00, 0x01, 'c',               // client id
      0x00, 0x03, 'w', '/', 't',     // will topic
      0x00, 0x03, 'b', 'y', 'e',     // will payload
      0x00, 0x01, 'u',               // user name
      0x00, 0x01, 'p',               // password
  }));
}

TEST_CASE("CONNECT 3.1 uses MQIsdp / 3") {
  Connect c;
  c.protocol_version = V::V31;
  c.keep_alive = 60;
  c.client_id = "x";
  const Bytes wire = bytes({
      0x10,                                    // CONNECT
      0x0F,                                    // remaining length 15
      0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p',  // protocol name
      0x03,                                    // level 3
      0x02,                                    // clean session
      0x00, 0x3C,                              // keep alive
      0x00, 0x01, 'x',                         // client id
  });
  check_round_trip(c, V::V31, wire);
  // A CONNECT carries its own version: the connection's version argument does not matter.
  CHECK(encode_checked(Packet{c}, V::V5) == wire);
  CHECK(decode_as<Connect>(wire, V::V5) == c);
}

TEST_CASE("CONNECT 5 with properties, will properties, user name and password") {
  Connect c;
  c.protocol_version = V::V5;
  c.clean_start = true;
  c.keep_alive = 30;
  c.client_id = "c5";
  c.properties.session_expiry_interval = 3600;
  c.properties.receive_maximum = 20;
  c.properties.user_properties.push_back({"k", "v"});
  Will w;
  w.topic = "t";
  w.payload = "x";
  w.properties.payload_format_indicator = 1;
  w.properties.will_delay_interval = 5;
  c.will = w;
  c.username = "u";
  c.password = "pw";
  check_round_trip(c, V::V5, bytes({
      0x10,                            // CONNECT
      0x33,                            // remaining length 51
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
      0x05,                            // level 5
      0xC6,                            // user name, password, will (QoS 0), clean start
      0x00, 0x1E,                      // keep alive 30
      0x0F,                            // property length 15
      0x11, 0x00, 0x00, 0x0E, 0x10,    //   session expiry interval 3600
      0x21, 0x00, 0x14,                //   receive maximum 20
      0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',  // user property k=v
      0x00, 0x02, 'c', '5',            // client id
      0x07,                            // will property length 7
      0x01, 0x01,                      //   payload format indicator 1
      0x18, 0x00, 0x00, 0x00, 0x05,    //   will delay interval 5
      0x00, 0x01, 't',                 // will topic
      0x00, 0x01, 'x',                 // will payload
      0x00, 0x01, 'u',                 // user name
      0x00, 0x02, 'p', 'w',            // password
  }));
}

TEST_CASE("CONNECT 5 allows a password without a user name and an empty client id") {
  Connect c;
  c.protocol_version = V::V5;
  c.clean_start = true;
  c.password = "s";
  check_round_trip(c, V::V5, bytes({
      0x10,                            // CONNECT
      0x10,                            // remaining length 16
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
      0x05,                            // level 5
      0x42,                            // password, clean start
      0x00, 0x00,                      // keep alive 0
      0x00,                            // no properties
      0x00, 0x00,                      // empty client id
      0x00, 0x01, 's',                 // password
  }));
}

TEST_CASE("CONNECT binary password and will payload may hold any byte") {
  Connect c;
  c.protocol_version = V::V311;
  c.client_id = "c";
  static const char kBin[] = {'\0', '\xff', '\xc0'};
  c.will = Will{"t", std::string_view(kBin, 3), 2, false, {}};
  c.username = "u";
  c.password = std::string_view(kBin, 3);
  const Bytes wire = encode_checked(Packet{c}, V::V311);
  CHECK(wire[9] == 0xD6);  // user name, password, will QoS 2, will, clean session
  CHECK(decode_as<Connect>(wire, V::V311) == c);
}

TEST_CASE("CONNACK 3.1.1") {
  SUBCASE("accepted, session present") {
    Connack c;
    c.session_present = true;
    check_round_trip(c, V::V311, bytes({
        0x20,  // CONNACK
        0x02,  // remaining length
        0x01,  // session present
        0x00,  // accepted
    }));
  }
  SUBCASE("each 3.1.1 return code round-trips through its MQTT 5 reason") {
    const std::pair<ReasonCode, int> codes[] = {
        {ReasonCode::UnsupportedProtocolVersion, 0x01}, {ReasonCode::ClientIdentifierNotValid, 0x02},
        {ReasonCode::ServerUnavailable, 0x03}, {ReasonCode::BadUserNameOrPassword, 0x04},
        {ReasonCode::NotAuthorized, 0x05}};
    for (auto [rc, byte] : codes) {
      Connack c;
      c.reason_code = rc;
      check_round_trip(c, V::V311, bytes({0x20, 0x02, 0x00, byte}));
    }
  }
  SUBCASE("MQTT 5 only reasons are mapped with to_connack_311 and properties dropped") {
    Connack c;
    c.reason_code = ReasonCode::Banned;
    c.properties.reason_string = "no";
    CHECK(encode_checked(Packet{c}, V::V311) == bytes({0x20, 0x02, 0x00, 0x05}));
    c.reason_code = ReasonCode::QuotaExceeded;
    CHECK(encode_checked(Packet{c}, V::V311) == bytes({0x20, 0x02, 0x00, 0x03}));
    c.reason_code = ReasonCode::BadAuthenticationMethod;
    CHECK(encode_checked(Packet{c}, V::V311) == bytes({0x20, 0x02, 0x00, 0x04}));
  }
}

TEST_CASE("CONNACK 3.1 has no session present flag") {
  Connack c;
  c.session_present = true;
  CHECK(encode_checked(Packet{c}, V::V31) == bytes({0x20, 0x02, 0x00, 0x00}));
  // The acknowledge-flags byte is unused in 3.1: whatever is there is ignored.
  CHECK(decode_as<Connack>(bytes({0x20, 0x02, 0x01, 0x00}), V::V31) == Connack{});
}

TEST_CASE("CONNACK 5 with properties") {
  Connack c;
  c.reason_code = ReasonCode::Success;
  c.properties.assigned_client_identifier = "ab";
  c.properties.topic_alias_maximum = 10;
  check_round_trip(c, V::V5, bytes({
      0x20,                          // CONNACK
      0x0B,                          // remaining length 11
      0x00,                          // no session present
      0x00,                          // success
      0x08,                          // property length 8
      0x12, 0x00, 0x02, 'a', 'b',    //   assigned client identifier "ab"
      0x22, 0x00, 0x0A,              //   topic alias maximum 10
  }));
}

TEST_CASE("CONNACK 5 refusal without properties") {
  Connack c;
  c.reason_code = ReasonCode::NotAuthorized;
  check_round_trip(c, V::V5, bytes({
      0x20,  // CONNACK
      0x03,  // remaining length 3
      0x00,  // flags
      0x87,  // not authorized
      0x00,  // property length 0
  }));
}
