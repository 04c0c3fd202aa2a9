// SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK round trips (MQTT 3.1.1 3.8-3.11, MQTT 5.0 3.8-3.11).
#include "codec_test_util.hpp"

using namespace hydrant;
using namespace hydrant::codec;
using namespace hydrant::codec::test;

TEST_CASE("SUBSCRIBE 3.1.1 with two filters") {
  Subscribe s;
  s.packet_id = 10;
  s.subscriptions.push_back({"a/+", {1}});
  s.subscriptions.push_back({"#", {2}});
  const Bytes wire = bytes({
      0x82,                     // SUBSCRIBE (reserved flags 0b0010)
      0x0C,                     // remaining length 12
      0x00, 0x0A,               // packet id 10
      0x00, 0x03, 'a', '/', '+',  // filter
      0x01,                     // requested QoS 1
      0x00, 0x01, '#',          // filter
      0x02,                     // requested QoS 2
  });
  check_round_trip(s, V::V311, wire);
  check_round_trip(s, V::V31, wire);
}

TEST_CASE("SUBSCRIBE 5 with options and a subscription identifier") {
  Subscribe s;
  s.packet_id = 1;
  s.properties.subscription_identifiers = {16'384};
  s.properties.user_properties.push_back({"u", ""});
  SubscriptionOptions o;
  o.max_qos = 1;
  o.no_local = true;
  o.retain_as_published = true;
  o.retain_handling = 2;
  s.subscriptions.push_back({"x/y", o});
  s.subscriptions.push_back({"$share/g/z", {}});
  check_round_trip(s, V::V5, bytes({
      0x82,                          // SUBSCRIBE
      0x20,                          // remaining length 32
      0x00, 0x01,                    // packet id 1
      0x0A,                          // property length 10
      0x0B, 0x80, 0x80, 0x01,        //   subscription identifier 16384
      0x26, 0x00, 0x01, 'u', 0x00, 0x00,  // user property u=""
      0x00, 0x03, 'x', '/', 'y',     // filter
      0x2D,                          // retain handling 2, RAP, no local, QoS 1
      0x00, 0x0A, '$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 'z',  // filter
      0x00,                          // QoS 0, all options off
  }));
}

TEST_CASE("SUBSCRIBE encoded for 3.1.1 keeps only the QoS") {
  Subscribe s;
  s.packet_id = 2;
  s.properties.subscription_identifiers = {3};
  s.subscriptions.push_back({"t", {2, true, true, 1}});
  CHECK(encode_checked(Packet{s}, V::V311) ==
        bytes({0x82, 0x06, 0x00, 0x02, 0x00, 0x01, 't', 0x02}));
}

TEST_CASE("SUBACK 3.1.1") {
  Suback s;
  s.packet_id = 10;
  s.reason_codes = {kGrantedQos0, ReasonCode::GrantedQos1, ReasonCode::GrantedQos2,
                    ReasonCode::UnspecifiedError};
  check_round_trip(s, V::V311, bytes({
      0x90,                    // SUBACK
      0x06,                    // remaining length 6
      0x00, 0x0A,              // packet id
      0x00, 0x01, 0x02, 0x80,  // granted 0, 1, 2, failure
  }));
}

TEST_CASE("SUBACK 3.1.1 maps MQTT 5 refusals to 0x80") {
  Suback s;
  s.packet_id = 1;
  s.reason_codes = {ReasonCode::NotAuthorized, ReasonCode::GrantedQos1};
  s.properties.reason_string = "x";
  CHECK(encode_checked(Packet{s}, V::V311) == bytes({0x90, 0x04, 0x00, 0x01, 0x80, 0x01}));
}

TEST_CASE("SUBACK 5") {
  Suback s;
  s.packet_id = 3;
  s.properties.reason_string = "r";
  s.reason_codes = {ReasonCode::GrantedQos1, ReasonCode::NotAuthorized,
                    ReasonCode::WildcardSubscriptionsNotSupported};
  check_round_trip(s, V::V5, bytes({
      0x90,                    // SUBACK
      0x0A,                    // remaining length 10
      0x00, 0x03,              // packet id
      0x04,                    // property length 4
      0x1F, 0x00, 0x01, 'r',   //   reason string
      0x01, 0x87, 0xA2,        // granted 1, not authorized, wildcards not supported
  }));
}

TEST_CASE("UNSUBSCRIBE 3.1.1") {
  Unsubscribe u;
  u.packet_id = 4;
  u.filters = {"a", "b/#"};
  check_round_trip(u, V::V311, bytes({
      0xA2,                      // UNSUBSCRIBE (reserved flags 0b0010)
      0x0A,                      // remaining length 10
      0x00, 0x04,                // packet id
      0x00, 0x01, 'a',           // filter
      0x00, 0x03, 'b', '/', '#', // filter
  }));
}

TEST_CASE("UNSUBSCRIBE 5") {
  Unsubscribe u;
  u.packet_id = 4;
  u.filters = {"a"};
  u.properties.user_properties.push_back({"k", "v"});
  check_round_trip(u, V::V5, bytes({
      0xA2,                          // UNSUBSCRIBE
      0x0D,                          // remaining length 13
      0x00, 0x04,                    // packet id
      0x07,                          // property length 7
      0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',  // user property
      0x00, 0x01, 'a',               // filter
  }));
}

TEST_CASE("UNSUBACK 3.1.1 has no payload") {
  Unsuback u;
  u.packet_id = 0x0102;
  check_round_trip(u, V::V311, bytes({
      0xB0,        // UNSUBACK
      0x02,        // remaining length 2
      0x01, 0x02,  // packet id
  }));
  Unsuback with_codes = u;
  with_codes.reason_codes = {ReasonCode::Success};
  CHECK(encode_checked(Packet{with_codes}, V::V311) == bytes({0xB0, 0x02, 0x01, 0x02}));
}

TEST_CASE("UNSUBACK 5") {
  Unsuback u;
  u.packet_id = 9;
  u.reason_codes = {ReasonCode::Success, ReasonCode::NoSubscriptionExisted};
  check_round_trip(u, V::V5, bytes({
      0xB0,        // UNSUBACK
      0x05,        // remaining length 5
      0x00, 0x09,  // packet id
      0x00,        // property length 0
      0x00, 0x11,  // success, no subscription existed
  }));
}
