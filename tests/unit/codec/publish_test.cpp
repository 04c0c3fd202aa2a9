// PUBLISH round trips (MQTT 3.1.1 3.3, MQTT 5.0 3.3).
#include "codec_test_util.hpp"

using namespace hydrant;
using namespace hydrant::codec;
using namespace hydrant::codec::test;

TEST_CASE("PUBLISH 3.1.1 QoS 0") {
  Publish p;
  p.topic = "a/b";
  p.payload = "hi";
  const Bytes wire = bytes({
      0x30,                     // PUBLISH QoS 0
      0x07,                     // remaining length 7
      0x00, 0x03, 'a', '/', 'b',  // topic
      'h', 'i',                 // payload
  });
  check_round_trip(p, V::V311, wire);
  check_round_trip(p, V::V31, wire);
}

TEST_CASE("PUBLISH 3.1.1 QoS 1, DUP, retain") {
  Publish p;
  p.dup = true;
  p.qos = 1;
  p.retain = true;
  p.topic = "t";
  p.packet_id = 0x1234;
  p.payload = "x";
  check_round_trip(p, V::V311, bytes({
      0x3B,              // PUBLISH DUP, QoS 1, retain
      0x06,              // remaining length 6
      0x00, 0x01, 't',   // topic
      0x12, 0x34,        // packet id
      'x',               // payload
  }));
}

TEST_CASE("PUBLISH 3.1.1 QoS 2 with an empty payload") {
  Publish p;
  p.qos = 2;
  p.topic = "t";
  p.packet_id = 1;
  check_round_trip(p, V::V311, bytes({
      0x34,             // PUBLISH QoS 2
      0x05,             // remaining length 5
      0x00, 0x01, 't',  // topic
      0x00, 0x01,       // packet id 1
  }));
}

TEST_CASE("PUBLISH payload may hold any byte, including NUL and invalid UTF-8") {
  static const char kBin[] = {'\0', '\xff', '\xfe', '\x80'};
  Publish p;
  p.topic = "t";
  p.payload = std::string_view(kBin, sizeof kBin);
  const Bytes wire = encode_checked(Packet{p}, V::V5);
  CHECK(wire == bytes({0x30, 0x08, 0x00, 0x01, 't', 0x00, 0x00, 0xFF, 0xFE, 0x80}));
  CHECK(decode_as<Publish>(wire, V::V5) == p);
}

TEST_CASE("PUBLISH 5 QoS 1 with every PUBLISH property") {
  static const char kCorr[] = {'\x01', '\x02'};
  Publish p;
  p.qos = 1;
  p.topic = "t";
  p.packet_id = 7;
  p.payload = "p";
  p.properties.payload_format_indicator = 1;
  p.properties.message_expiry_interval = 60;
  p.properties.content_type = "js";
  p.properties.response_topic = "r";
  p.properties.correlation_data = std::string_view(kCorr, 2);
  p.properties.subscription_identifiers = {1, 300};
  p.properties.topic_alias = 3;
  p.properties.user_properties.push_back({"a", "b"});
  check_round_trip(p, V::V5, bytes({
      0x32,                          // PUBLISH QoS 1
      0x2B,                          // remaining length 43
      0x00, 0x01, 't',               // topic
      0x00, 0x07,                    // packet id 7
      0x24,                          // property length 36
      0x01, 0x01,                    //   payload format indicator: UTF-8
      0x02, 0x00, 0x00, 0x00, 0x3C,  //   message expiry interval 60
      0x03, 0x00, 0x02, 'j', 's',    //   content type "js"
      0x08, 0x00, 0x01, 'r',         //   response topic "r"
      0x09, 0x00, 0x02, 0x01, 0x02,  //   correlation data
      0x0B, 0x01,                    //   subscription identifier 1
      0x0B, 0xAC, 0x02,              //   subscription identifier 300
      0x23, 0x00, 0x03,              //   topic alias 3
      0x26, 0x00, 0x01, 'a', 0x00, 0x01, 'b',  // user property a=b
      'p',                           // payload
  }));
}

TEST_CASE("PUBLISH 5 with an empty topic and a topic alias") {
  Publish p;
  p.topic = "";
  p.payload = "z";
  p.properties.topic_alias = 1;
  check_round_trip(p, V::V5, bytes({
      0x30,              // PUBLISH QoS 0
      0x07,              // remaining length 7
      0x00, 0x00,        // empty topic
      0x03,              // property length 3
      0x23, 0x00, 0x01,  //   topic alias 1
      'z',               // payload
  }));
}

TEST_CASE("PUBLISH 5 without properties still carries a property length") {
  Publish p;
  p.topic = "t";
  check_round_trip(p, V::V5, bytes({
      0x30,             // PUBLISH QoS 0
      0x04,             // remaining length 4
      0x00, 0x01, 't',  // topic
      0x00,             // property length 0
  }));
}

TEST_CASE("PUBLISH encoded for 3.1.1 drops MQTT 5 properties") {
  Publish p;
  p.topic = "t";
  p.payload = "x";
  p.properties.message_expiry_interval = 5;
  CHECK(encode_checked(Packet{p}, V::V311) == bytes({0x30, 0x04, 0x00, 0x01, 't', 'x'}));
}

TEST_CASE("PUBLISH with a two-byte remaining length") {
  Publish p;
  p.topic = "t";
  const std::string payload(200, 'x');
  p.payload = payload;
  const Bytes wire = encode_checked(Packet{p}, V::V311);
  CHECK(wire.size() == 1 + 2 + 3 + 200);
  CHECK(wire[0] == 0x30);
  CHECK(wire[1] == 0xCB);  // 203 = 0x4B | 0x80
  CHECK(wire[2] == 0x01);
  CHECK(decode_as<Publish>(wire, V::V311) == p);
}

TEST_CASE("PUBLISH decoding yields views into the packet bytes") {
  const Bytes wire = bytes({0x30, 0x05, 0x00, 0x01, 't', 'a', 'b'});
  const auto p = decode_as<Publish>(wire, V::V311);
  CHECK(reinterpret_cast<const uint8_t*>(p.topic.data()) == wire.data() + 4);
  CHECK(reinterpret_cast<const uint8_t*>(p.payload.data()) == wire.data() + 5);
}
