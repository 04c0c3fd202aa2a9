// ClientLink, Sans-I/O: bytes in, bytes out. CONNECT/CONNACK, inbound PUBLISH flows and their
// refusals, SUBSCRIBE/UNSUBSCRIBE, DISCONNECT and the timers, for MQTT 3.1.1 and 5 (the
// outbound delivery flows are in session_test.cpp).
#include <algorithm>
#include <chrono>
#include <set>
#include <string>

#include "session_test_util.hpp"

using namespace hydrant;
using namespace hydrant::session;
using namespace hydrant::session::test;
using namespace std::chrono_literals;
using codec::Connack;
using codec::Disconnect;
using codec::Properties;
using codec::Publish;

namespace {


// The link answered with exactly one MQTT 5 DISCONNECT carrying `rc`, and closed.
void expect_v5_disconnect(TestClient& c, ReasonCode rc) {
  auto out = c.take();
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].type() == PacketType::Disconnect);
  CHECK(out[0].as<Disconnect>().reason_code == rc);
  CHECK(c.link().closing());
}

// MQTT 5: DISCONNECT with `rc`; 3.1.1: a plain close, nothing sent.
void expect_closed_for(TestClient& c, ReasonCode rc) {
  if (c.version() == V::V5) {
    expect_v5_disconnect(c, rc);
  } else {
    CHECK(c.take().empty());
    CHECK(c.link().closing());
  }
}

constexpr V kBoth[] = {V::V311, V::V5};

}  // namespace

// ---- CONNECT ----

TEST_CASE("CONNECT -> CONNACK, 3.1.1") {
  TestServices svc;
  {
    TestClient c(svc, V::V311);
    c.send(connect_packet(V::V311, "dev1", /*clean_start=*/false));
    c.take();
    CHECK(c.last_raw() == bytes({0x20, 0x02, 0x00, 0x00}));  // CONNACK, session present 0
    CHECK(c.link().state() == LinkState::Connected);
    CHECK(c.link().client_id() == "dev1");
    CHECK(svc.wants_write_calls > 0);
    c.send(codec::Pingreq{});
    c.take();
    CHECK(c.last_raw() == bytes({0xD0, 0x00}));
  }
  TestClient again(svc, V::V311, 2);  // the session of clean session 0 survived the first link
  again.send(connect_packet(V::V311, "dev1", false));
  again.take();
  CHECK(again.last_raw() == bytes({0x20, 0x02, 0x01, 0x00}));  // session present 1
}

TEST_CASE("CONNECT -> CONNACK, 5: limits announced") {
  TestServices svc;
  TestClient c(svc, V::V5);
  c.send(connect_packet(V::V5, "dev1"));
  auto out = c.take();
  REQUIRE(out.size() == 1);
  Connack want;
  want.properties.receive_maximum = 100;
  want.properties.maximum_packet_size = 1048576;
  want.properties.topic_alias_maximum = 64;
  CHECK(out[0].raw == encode(want, V::V5));
  CHECK(out[0].as<Connack>() == want);
}

TEST_CASE("CONNACK 5 leaves out the defaults: receive maximum 65535, no topic aliases") {
  TestServices svc;
  svc.lim.receive_maximum = 65535;
  svc.lim.topic_alias_maximum = 0;
  svc.lim.max_packet_size = 5000;
  TestClient c(svc, V::V5);
  const Connack ack = c.connect("dev1");
  CHECK_FALSE(ack.properties.receive_maximum.has_value());
  CHECK_FALSE(ack.properties.topic_alias_maximum.has_value());
  CHECK(ack.properties.maximum_packet_size == 5000u);
}

TEST_CASE("CONNECT 5 with an empty client id gets an assigned one") {
  TestServices svc;
  for (bool clean : {true, false}) {
    TestClient c(svc, V::V5, clean ? 1 : 2);
    const Connack ack = c.connect("", clean);
    REQUIRE(ack.properties.assigned_client_identifier.has_value());
    const std::string_view id = *ack.properties.assigned_client_identifier;
    CHECK(id.starts_with("hydrant-"));
    CHECK(id.size() == 24);
    CHECK(c.link().client_id() == id);
  }
}

TEST_CASE("CONNECT 3.1.1 with an empty client id: accepted with clean session, else 0x02") {
  TestServices svc;
  {
    TestClient c(svc, V::V311);
    c.send(connect_packet(V::V311, "", true));
    c.take();
    CHECK(c.last_raw() == bytes({0x20, 0x02, 0x00, 0x00}));  // no assigned id in 3.1.1
    CHECK_FALSE(c.link().client_id().empty());
  }
  for (V v : {V::V311, V::V31}) {
    CAPTURE(static_cast<int>(v));
    TestClient c(svc, v);
    c.send(connect_packet(v, "", /*clean_start=*/v == V::V31));
    c.take(V::V311);
    CHECK(c.last_raw() == bytes({0x20, 0x02, 0x00, 0x02}));  // identifier rejected
    CHECK(c.link().closing());
  }
}

TEST_CASE("CONNECT keep alive above the server maximum") {
  TestServices svc;
  svc.lim.max_keepalive = 60;
  SUBCASE("5: Server Keep Alive tells the client the value to use") {
    for (uint16_t asked : {uint16_t{120}, uint16_t{0}}) {
      CAPTURE(asked);
      TestClient c(svc, V::V5, asked + 1u);
      const Connack ack = c.connect("ka" + std::to_string(asked), true, {}, asked);
      CHECK(ack.properties.server_keep_alive == uint16_t{60});
    }
    TestClient c(svc, V::V5, 9);
    const Connack ack = c.connect("ka30", true, {}, 30);
    CHECK_FALSE(ack.properties.server_keep_alive.has_value());
  }
  SUBCASE("3.1.1 cannot be told: CONNACK 0x02") {
    TestClient c(svc, V::V311);
    c.send(connect_packet(V::V311, "ka", true, 120));
    c.take();
    CHECK(c.last_raw() == bytes({0x20, 0x02, 0x00, 0x02}));
    CHECK(c.link().closing());
  }
}

TEST_CASE("CONNECT 5 session expiry is capped and the cap announced") {
  TestServices svc;
  svc.lim.max_session_expiry = 100;
  struct Case {
    std::optional<uint32_t> asked;
    std::optional<uint32_t> announced;
    uint32_t used;
  };
  const Case cases[] = {{1000, 100, 100}, {0xFFFFFFFF, 100, 100}, {50, {}, 50}, {{}, {}, 0}};
  uint64_t conn = 1;
  for (const Case& k : cases) {
    TestClient c(svc, V::V5, conn++);
    Properties p;
    p.session_expiry_interval = k.asked;
    const Connack ack = c.connect("se" + std::to_string(conn), true, p);
    CHECK(ack.properties.session_expiry_interval == k.announced);
    CHECK(c.link().session()->expiry_interval() == k.used);
  }
}

TEST_CASE("CONNECT 5 client limits are recorded") {
  TestServices svc;
  TestClient c(svc, V::V5);
  Properties p;
  p.receive_maximum = 7;
  p.maximum_packet_size = 1000;
  p.topic_alias_maximum = 3;
  c.connect("lim", true, p);
  CHECK(c.link().client_receive_maximum() == 7);
}

TEST_CASE("the first packet must be CONNECT") {
  auto check = [](const codec::Packet& first) {
    for (V v : kBoth) {
      CAPTURE(static_cast<int>(v));
      TestServices svc;
      TestClient c(svc, v);
      c.send(first);
      CHECK(c.link().closing());
      CHECK(c.take().empty());
      CHECK(svc.session_count() == 0);
      CHECK(svc.published.empty());
    }
  };
  SUBCASE("PINGREQ") { check(codec::Pingreq{}); }
  SUBCASE("PUBLISH") { check(publish_packet("t", "x")); }
  SUBCASE("SUBSCRIBE") { check(subscribe_packet(1, "t")); }
}

TEST_CASE("a second CONNECT is a protocol error") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    TestClient c(svc, v);
    c.connect("dev");
    c.send(connect_packet(v, "dev"));
    expect_closed_for(c, ReasonCode::ProtocolError);
    CHECK(svc.session_count() == 0);  // clean session: ended with the link
  }
}

TEST_CASE("CONNECT with an unsupported protocol level -> CONNACK 0x01 in the 3.1.1 form") {
  TestServices svc;
  TestClient c(svc, V::V5);
  c.feed(bytes({
      0x10, 0x0F,                      // CONNECT, remaining length 15
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
      0x06,                            // protocol level 6: unknown
      0x02,                            // clean start
      0x00, 0x3C,                      // keep alive 60
      0x00, 0x03, 'd', 'e', 'v',       // client id
  }));
  c.take(V::V311);
  CHECK(c.last_raw() == bytes({0x20, 0x02, 0x00, 0x01}));
  CHECK(c.link().closing());
  CHECK(svc.session_count() == 0);
}

TEST_CASE("CONNECT 5 with an authentication method -> CONNACK 0x8C") {
  TestServices svc;
  TestClient c(svc, V::V5);
  auto conn = connect_packet(V::V5, "dev");
  conn.properties.authentication_method = "SCRAM-SHA-1";
  c.send(conn);
  auto out = c.take();
  REQUIRE(out.size() == 1);
  CHECK(out[0].as<Connack>().reason_code == ReasonCode::BadAuthenticationMethod);
  CHECK_FALSE(out[0].as<Connack>().session_present);
  CHECK(c.link().closing());
  CHECK(svc.session_count() == 0);
}

TEST_CASE("Request Problem Information 0: no reason string on a PUBACK [MQTT-3.1.2-29]") {
  TestServices svc;
  for (bool allowed : {true, false}) {
    CAPTURE(allowed);
    TestClient c(svc, V::V5);
    Properties p;
    if (!allowed) p.request_problem_information = 0;
    c.connect("dev", true, p);
    auto pub = publish_packet("t", "\xff", 1, 1);
    pub.properties.payload_format_indicator = 1;
    c.send(pub);
    auto out = c.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0].as<codec::Ack>().reason_code == ReasonCode::PayloadFormatInvalid);
    CHECK(out[0].as<codec::Ack>().properties.reason_string.has_value() == allowed);
  }
}

TEST_CASE("CONNACK refusal, 5: carries a reason string") {
  // A CONNACK may carry one whatever Request Problem Information says [MQTT-3.1.2-29].
  TestServices svc;
  TestClient c(svc, V::V5);
  auto conn = connect_packet(V::V5, "dev");
  conn.properties.authentication_method = "x";
  c.send(conn);
  auto out = c.take();
  REQUIRE(out.size() == 1);
  CHECK(out[0].as<Connack>().properties.reason_string.has_value());
}

TEST_CASE("a new connection with the same client id takes the session over") {
  TestServices svc;
  svc.lim.max_session_expiry = 100;
  codec::Properties lasting;
  lasting.session_expiry_interval = 60;  // with 0 the session ends with the connection taken over
  TestClient first(svc, V::V5, 1);
  first.connect("same", false, lasting);
  TestClient second(svc, V::V5, 2);
  const Connack ack = second.connect("same", false, lasting);
  CHECK(ack.session_present);
  expect_v5_disconnect(first, ReasonCode::SessionTakenOver);
  CHECK(svc.session_count() == 1);
  CHECK(svc.session_of("same")->link() == &second.link());
}

// ---- inbound PUBLISH ----

TEST_CASE("QoS 0 PUBLISH is routed and not answered") {
  for (V v : kBoth) {
    TestServices svc;
    TestClient c(svc, v);
    c.connect("pub");
    c.send(publish_packet("a/b", "hello"));
    CHECK(c.take().empty());
    REQUIRE(svc.published.size() == 1);
    CHECK(svc.published[0]->topic() == "a/b");
    CHECK(svc.published[0]->payload() == "hello");
    CHECK(svc.published[0]->qos() == 0);
    CHECK(svc.published[0]->origin_session() == c.link().session()->id());
    CHECK(svc.ctr.messages_received.get() == 1);
  }
}

TEST_CASE("QoS 1 PUBLISH -> PUBACK") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    TestClient sub(svc, v, 2);
    sub.connect("sub");
    sub.subscribe(subscribe_packet(1, "a/b"));
    TestClient c(svc, v);
    c.connect("pub");
    c.send(publish_packet("a/b", "x", 1, 7));
    c.take();
    CHECK(c.last_raw() == bytes({0x40, 0x02, 0x00, 0x07}));
    CHECK(svc.published.size() == 1);
  }
}

TEST_CASE("MQTT 5: PUBACK/PUBREC 0x10 when no subscription matched; 3.1.1: plain ack") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    TestClient c(svc, v);
    c.connect("pub");
    c.send(publish_packet("nobody/listens", "x", 1, 7));
    c.send(publish_packet("nobody/listens", "x", 2, 8));
    auto out = c.take();
    REQUIRE(out.size() == 2);
    const auto expected = v == V::V5 ? ReasonCode::NoMatchingSubscribers : ReasonCode::Success;
    CHECK(out[0].as<codec::Ack>().reason_code == expected);
    CHECK(out[1].as<codec::Ack>().reason_code == expected);
    CHECK(svc.published.size() == 2);
  }
}

TEST_CASE("QoS 2 PUBLISH -> PUBREC, routed once, PUBREL -> PUBCOMP") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    TestClient sub(svc, v, 2);
    sub.connect("sub");
    sub.subscribe(subscribe_packet(1, "a/b"));
    TestClient c(svc, v);
    c.connect("pub");
    c.send(publish_packet("a/b", "x", 2, 9));
    c.take();
    CHECK(c.last_raw() == bytes({0x50, 0x02, 0x00, 0x09}));
    CHECK(svc.published.size() == 1);

    auto again = publish_packet("a/b", "x", 2, 9);
    again.dup = true;
    c.send(again);
    c.take();
    CHECK(c.last_raw() == bytes({0x50, 0x02, 0x00, 0x09}));
    CHECK(svc.published.size() == 1);  // not routed twice [MQTT-4.3.3-10]

    c.send(ack_packet(PacketType::Pubrel, 9));
    c.take();
    CHECK(c.last_raw() == bytes({0x70, 0x02, 0x00, 0x09}));
    CHECK(c.link().session()->pubrels_awaited() == 0);

    c.send(publish_packet("a/b", "y", 2, 9));  // the id is free again: a new message
    c.take();
    CHECK(svc.published.size() == 2);
  }
}

TEST_CASE("PUBREL for an unknown packet id -> PUBCOMP 0x92 (5), plain PUBCOMP (3.1.1)") {
  for (V v : kBoth) {
    TestServices svc;
    TestClient c(svc, v);
    c.connect("pub");
    c.send(ack_packet(PacketType::Pubrel, 0x63));
    c.take();
    if (v == V::V5) {
      CHECK(c.last_raw() == bytes({0x70, 0x03, 0x00, 0x63, 0x92}));
    } else {
      CHECK(c.last_raw() == bytes({0x70, 0x02, 0x00, 0x63}));
    }
    CHECK_FALSE(c.link().closing());
  }
}

TEST_CASE("QoS 2 beyond our Receive Maximum -> DISCONNECT 0x93") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    svc.lim.receive_maximum = 2;
    TestClient c(svc, v);
    const Connack ack = c.connect("pub");
    if (v == V::V5) CHECK(ack.properties.receive_maximum == uint16_t{2});
    c.send(publish_packet("t", "1", 2, 1));
    c.send(publish_packet("t", "2", 2, 2));
    CHECK(c.take().size() == 2);
    c.send(publish_packet("t", "3", 2, 3));
    expect_closed_for(c, ReasonCode::ReceiveMaximumExceeded);
    CHECK(svc.published.size() == 2);
  }
}

TEST_CASE("issue 2: a QoS 2 PUBLISH with DUP=1 on a new packet id still counts against Receive Maximum") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    svc.lim.receive_maximum = 1;
    TestClient c(svc, v);
    c.connect("pub");
    c.send(publish_packet("t", "1", 2, 1));
    CHECK(c.take().size() == 1);
    auto p = publish_packet("t", "2", 2, 2);
    p.dup = true;
    c.send(p);
    expect_closed_for(c, ReasonCode::ReceiveMaximumExceeded);
    CHECK(svc.published.size() == 1);
  }
}

TEST_CASE("QoS 2 window: a PUBREL frees a slot") {
  TestServices svc;
  svc.lim.receive_maximum = 1;
  TestClient c(svc, V::V5);
  c.connect("pub");
  c.send(publish_packet("t", "1", 2, 1));
  c.send(ack_packet(PacketType::Pubrel, 1));
  c.send(publish_packet("t", "2", 2, 2));
  CHECK(c.take().size() == 3);  // PUBREC, PUBCOMP, PUBREC
  CHECK_FALSE(c.link().closing());
}

TEST_CASE("inbound topic aliases, 5") {
  TestServices svc;
  TestClient sub(svc, V::V5, 1);
  sub.connect("sub");
  sub.subscribe(subscribe_packet(1, "a/#"));
  TestClient c(svc, V::V5, 2);
  c.connect("pub");
  auto with_alias = [](std::string_view topic, std::string_view payload, uint16_t alias) {
    auto p = publish_packet(topic, payload);
    p.properties.topic_alias = alias;
    return p;
  };

  SUBCASE("set, reuse, rebind") {
    c.send(with_alias("a/b", "1", 1));
    c.send(with_alias("", "2", 1));
    c.send(with_alias("a/c", "3", 1));
    c.send(with_alias("", "4", 1));
    c.send(with_alias("a/d", "5", 64));  // the maximum we announced
    c.send(with_alias("", "6", 64));
    CHECK_FALSE(c.link().closing());
    const auto got = publishes(sub.take());
    REQUIRE(got.size() == 6);
    const char* topics[] = {"a/b", "a/b", "a/c", "a/c", "a/d", "a/d"};
    for (size_t i = 0; i < 6; ++i) CHECK(got[i].topic == topics[i]);
  }
  SUBCASE("alias 0 -> 0x94") {
    c.send(with_alias("a/b", "1", 0));
    expect_v5_disconnect(c, ReasonCode::TopicAliasInvalid);
  }
  SUBCASE("alias above the maximum -> 0x94") {
    c.send(with_alias("a/b", "1", 65));
    expect_v5_disconnect(c, ReasonCode::TopicAliasInvalid);
  }
  SUBCASE("unknown alias with an empty topic -> 0x82") {
    c.send(with_alias("a/b", "1", 1));
    c.send(with_alias("", "2", 2));
    expect_v5_disconnect(c, ReasonCode::ProtocolError);
  }
  SUBCASE("empty topic without an alias -> 0x82") {
    c.send(publish_packet("", "x"));
    expect_v5_disconnect(c, ReasonCode::ProtocolError);
  }
}

TEST_CASE("inbound topic alias when we announced none -> 0x94") {
  TestServices svc;
  svc.lim.topic_alias_maximum = 0;
  TestClient c(svc, V::V5);
  c.connect("pub");
  auto p = publish_packet("a", "x");
  p.properties.topic_alias = 1;
  c.send(p);
  expect_v5_disconnect(c, ReasonCode::TopicAliasInvalid);
}

TEST_CASE("PUBLISH to a topic name with wildcards closes the connection") {
  for (V v : kBoth) {
    TestServices svc;
    TestClient c(svc, v);
    c.connect("pub");
    c.send(publish_packet("a/+", "x", 1, 1));
    expect_closed_for(c, ReasonCode::TopicNameInvalid);
    CHECK(svc.published.empty());
  }
}

TEST_CASE("Payload Format Indicator 1 with invalid UTF-8") {
  TestServices svc;
  TestClient c(svc, V::V5);
  c.connect("pub");
  auto p = publish_packet("t", "\xff\xfe");
  p.properties.payload_format_indicator = 1;
  SUBCASE("QoS 1 -> PUBACK 0x99") {
    p.qos = 1;
    p.packet_id = 4;
    c.send(p);
    auto out = c.take();
    REQUIRE(out.size() == 1);
    const auto& ack = out[0].as<codec::Ack>();
    CHECK(ack.type == PacketType::Puback);
    CHECK(ack.packet_id == 4);
    CHECK(ack.reason_code == ReasonCode::PayloadFormatInvalid);
    CHECK_FALSE(c.link().closing());
  }
  SUBCASE("QoS 2 -> PUBREC 0x99, no PUBREL expected") {
    p.qos = 2;
    p.packet_id = 5;
    c.send(p);
    auto out = c.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0].as<codec::Ack>().type == PacketType::Pubrec);
    CHECK(out[0].as<codec::Ack>().reason_code == ReasonCode::PayloadFormatInvalid);
    CHECK(c.link().session()->pubrels_awaited() == 0);
  }
  SUBCASE("QoS 0 -> DISCONNECT 0x99") {
    c.send(p);
    expect_v5_disconnect(c, ReasonCode::PayloadFormatInvalid);
  }
  CHECK(svc.published.empty());
}

TEST_CASE("Payload Format Indicator 1 with valid UTF-8 is routed") {
  TestServices svc;
  TestClient c(svc, V::V5);
  c.connect("pub");
  auto p = publish_packet("t", "h\xc3\xa9", 1, 1);
  p.properties.payload_format_indicator = 1;
  c.send(p);
  auto out = c.take();
  REQUIRE(out.size() == 1);
  CHECK(out[0].as<codec::Ack>().reason_code == ReasonCode::NoMatchingSubscribers);  // accepted
  CHECK(svc.published.size() == 1);
}

TEST_CASE("PUBLISH to a $ topic is not routed") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    TestClient c(svc, v);
    c.connect("pub");
    c.send(publish_packet("$SYS/x", "1", 1, 3));
    auto out = c.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0].as<codec::Ack>().reason_code ==
          (v == V::V5 ? ReasonCode::NotAuthorized : ReasonCode::Success));
    CHECK(svc.published.empty());
  }
}

// ---- SUBSCRIBE / UNSUBSCRIBE ----

TEST_CASE("SUBSCRIBE -> SUBACK with the granted QoS, invalid filters refused") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    TestClient c(svc, v);
    c.connect("sub");
    codec::Subscribe s = subscribe_packet(0x0A0B, "a", 0);
    for (auto [filter, q] : {std::pair{"b/+", 1}, std::pair{"c/#", 2}, std::pair{"a/#/b", 1},
                             std::pair{"x+", 0}}) {
      codec::TopicSubscription ts;
      ts.filter = filter;
      ts.options.max_qos = static_cast<uint8_t>(q);
      s.subscriptions.push_back(ts);
    }
    const auto codes = c.subscribe(s);
    const ReasonCode bad =
        v == V::V5 ? ReasonCode::TopicFilterInvalid : ReasonCode::UnspecifiedError;
    CHECK(codes == std::vector<ReasonCode>{ReasonCode::Success, ReasonCode::GrantedQos1,
                                           ReasonCode::GrantedQos2, bad, bad});
    if (v == V::V311) {
      CHECK(c.last_raw() == bytes({0x90, 0x07, 0x0A, 0x0B, 0x00, 0x01, 0x02, 0x80, 0x80}));
    }
    CHECK(svc.router.subscription_count() == 3);
    CHECK(c.link().session()->subscriptions().size() == 3);
  }
}

TEST_CASE("SUBSCRIBE 5: $share with no local -> DISCONNECT 0x82") {
  TestServices svc;
  TestClient c(svc, V::V5);
  c.connect("sub");
  auto s = subscribe_packet(1, "$share/g/t", 1);
  s.subscriptions[0].options.no_local = true;
  c.send(s);
  expect_v5_disconnect(c, ReasonCode::ProtocolError);
}

TEST_CASE("SUBSCRIBE 5 records the subscription identifier") {
  TestServices svc;
  TestClient sub(svc, V::V5, 1);
  sub.connect("sub");
  auto s = subscribe_packet(1, "t/#", 1);
  s.properties.subscription_identifiers = {77};
  sub.subscribe(s);
  TestClient pub(svc, V::V5, 2);
  pub.connect("pub");
  pub.send(publish_packet("t/x", "p", 1, 1));
  const auto got = publishes(sub.take());
  REQUIRE(got.size() == 1);
  CHECK(got[0].properties.subscription_identifiers == std::vector<uint32_t>{77});
}

TEST_CASE("retained messages are sent after SUBACK with RETAIN=1") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    TestClient pub(svc, v, 1);
    pub.connect("pub");
    pub.send(publish_packet("r/1", "one", 1, 1, /*retain=*/true));
    pub.send(publish_packet("r/2", "two", 0, 0, /*retain=*/true));
    pub.take();
    CHECK(svc.router.retained_count() == 2);

    TestClient sub(svc, v, 2);
    sub.connect("sub");
    const auto codes = sub.subscribe(subscribe_packet(5, "r/+", 2));
    CHECK(codes == std::vector<ReasonCode>{ReasonCode::GrantedQos2});
    auto got = publishes(sub.take_pending());
    REQUIRE(got.size() == 2);
    std::sort(got.list().begin(), got.list().end(),
              [](const Publish& a, const Publish& b) { return a.topic < b.topic; });
    CHECK(got[0].topic == "r/1");
    CHECK(got[0].payload == "one");
    CHECK(got[0].retain);
    CHECK(got[0].qos == 1);  // min(message QoS, granted QoS)
    CHECK(got[1].topic == "r/2");
    CHECK(got[1].retain);
    CHECK(got[1].qos == 0);

    // A live message on a retained topic reaches existing subscribers with RETAIN=0.
    pub.send(publish_packet("r/1", "live", 0, 0, true));
    got = publishes(sub.take());
    REQUIRE(got.size() == 1);
    CHECK_FALSE(got[0].retain);

    // An empty retained payload deletes it.
    pub.send(publish_packet("r/1", "", 0, 0, true));
    pub.send(publish_packet("r/2", "", 0, 0, true));
    sub.take();
    CHECK(svc.router.retained_count() == 0);
    sub.subscribe(subscribe_packet(6, "r/#", 0));
    CHECK(publishes(sub.take_pending()).empty());
  }
}

TEST_CASE("retain handling 1 and 2") {
  TestServices svc;
  TestClient pub(svc, V::V5, 1);
  pub.connect("pub");
  pub.send(publish_packet("r/1", "one", 0, 0, true));
  TestClient sub(svc, V::V5, 2);
  sub.connect("sub");

  // 1: only when the subscription is new.
  sub.subscribe(subscribe_packet(1, "r/1", 0, 1));
  CHECK(publishes(sub.take_pending()).size() == 1);
  sub.subscribe(subscribe_packet(2, "r/1", 0, 1));
  CHECK(publishes(sub.take_pending()).empty());
  // 0: every time.
  sub.subscribe(subscribe_packet(3, "r/1", 0, 0));
  CHECK(publishes(sub.take_pending()).size() == 1);
  // 2: never.
  sub.subscribe(subscribe_packet(4, "r/+", 0, 2));
  CHECK(publishes(sub.take_pending()).empty());
  // Shared subscriptions never get retained messages.
  sub.subscribe(subscribe_packet(5, "$share/g/r/1", 0, 0));
  CHECK(publishes(sub.take_pending()).empty());
}

TEST_CASE("retain as published keeps RETAIN=1 on live messages") {
  TestServices svc;
  TestClient sub(svc, V::V5, 1);
  sub.connect("sub");
  auto s = subscribe_packet(1, "t", 0);
  s.subscriptions[0].options.retain_as_published = true;
  sub.subscribe(s);
  TestClient pub(svc, V::V5, 2);
  pub.connect("pub");
  pub.send(publish_packet("t", "x", 0, 0, true));
  pub.send(publish_packet("t", "y", 0, 0, false));
  const auto got = publishes(sub.take());
  REQUIRE(got.size() == 2);
  CHECK(got[0].retain);
  CHECK_FALSE(got[1].retain);
}

TEST_CASE("deliveries are counted by the link's transport as well as in total") {
  TestServices svc;
  TestClient pub(svc, V::V5, 1);
  pub.connect("pub");
  TestClient tcp(svc, V::V5, 2);  // the default transport
  tcp.connect("tcp-sub");
  tcp.subscribe(subscribe_packet(1, "t/#"));
  TestClient ws(svc, V::V311, 3);
  ws.link().set_transport(metrics::Transport::Ws);
  ws.connect("ws-sub");
  ws.subscribe(subscribe_packet(1, "t/#"));
  pub.send(publish_packet("t/1", "one"));
  pub.send(publish_packet("t/2", "two"));
  CHECK(publishes(tcp.take()).size() == 2);
  CHECK(publishes(ws.take()).size() == 2);
  CHECK(svc.ctr.of(metrics::Transport::Tcp).deliveries.get() == 2);
  CHECK(svc.ctr.of(metrics::Transport::Ws).deliveries.get() == 2);
  CHECK(svc.ctr.of(metrics::Transport::Tls).deliveries.get() == 0);
  CHECK(svc.ctr.messages_sent.get() == 4);
}

TEST_CASE("UNSUBSCRIBE -> UNSUBACK") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    TestClient c(svc, v);
    c.connect("sub");
    c.subscribe(subscribe_packet(1, "a", 1));
    c.subscribe(subscribe_packet(2, "$share/g/b", 1));
    CHECK(svc.router.subscription_count() == 2);
    codec::Unsubscribe u;
    u.packet_id = 0x0102;
    u.filters = {"a", "nope", "$share/g/b"};
    c.send(u);
    auto out = c.take();
    REQUIRE(out.size() == 1);
    if (v == V::V5) {
      CHECK(out[0].as<codec::Unsuback>().reason_codes ==
            std::vector<ReasonCode>{ReasonCode::Success, ReasonCode::NoSubscriptionExisted,
                                    ReasonCode::Success});
    } else {
      CHECK(c.last_raw() == bytes({0xB0, 0x02, 0x01, 0x02}));
    }
    CHECK(svc.router.subscription_count() == 0);
    CHECK(c.link().session()->subscriptions().empty());

    TestClient pub(svc, v, 2);
    pub.connect("pub");
    pub.send(publish_packet("a", "x"));
    CHECK(c.take().empty());
  }
}

// ---- DISCONNECT ----

TEST_CASE("DISCONNECT 5 setting a session expiry on a session that ends at close -> 0x82") {
  TestServices svc;
  TestClient c(svc, V::V5);
  c.connect("dev");  // session expiry 0
  Disconnect d;
  d.properties.session_expiry_interval = 60;
  c.send(d);
  expect_v5_disconnect(c, ReasonCode::ProtocolError);
  CHECK(svc.session_count() == 0);
}

TEST_CASE("DISCONNECT 5 may change a non-zero session expiry, capped") {
  TestServices svc;
  svc.lim.max_session_expiry = 1000;
  TestClient c(svc, V::V5);
  Properties p;
  p.session_expiry_interval = 10;
  c.connect("dev", true, p);
  Disconnect d;
  d.properties.session_expiry_interval = 5000;
  c.send(d);
  CHECK(c.take().empty());
  CHECK(c.link().closing());
  REQUIRE(svc.session_of("dev") != nullptr);
  CHECK(svc.session_of("dev")->expiry_interval() == 1000);
  CHECK(svc.session_of("dev")->link() == nullptr);
}

TEST_CASE("will: discarded on normal DISCONNECT, published on abnormal close") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    for (int how = 0; how < 3; ++how) {
      CAPTURE(how);
      TestServices svc;
      TestClient sub(svc, v, 1);
      sub.connect("sub");
      sub.subscribe(subscribe_packet(1, "will/#"));
      auto conn = connect_packet(v, "dev");
      conn.will = codec::Will{"will/dev", "gone", 0, false, {}};
      TestClient c(svc, v, 2);
      c.send(conn);
      c.take();
      if (how == 0) c.send(Disconnect{});
      if (how == 1) c.link().on_transport_closed();
      if (how == 2) c.send(codec::Connect{});  // protocol error
      const auto got = publishes(sub.take());
      if (how == 0) {
        CHECK(got.empty());
      } else {
        REQUIRE(got.size() == 1);
        CHECK(got[0].topic == "will/dev");
        CHECK(got[0].payload == "gone");
      }
    }
  }
}

// ---- timers ----

TEST_CASE("keep alive: one and a half intervals without a packet closes") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    TestClient c(svc, v);
    c.connect("dev", true, {}, 10);
    c.link().on_tick(kT0 + 14999ms);
    CHECK_FALSE(c.link().closing());
    svc.t = kT0 + 10s;
    c.send(codec::Pingreq{});  // any packet resets the clock
    CHECK(c.take().size() == 1);
    c.link().on_tick(kT0 + 24999ms);
    CHECK_FALSE(c.link().closing());
    c.link().on_tick(kT0 + 25s);
    expect_closed_for(c, ReasonCode::KeepAliveTimeout);
  }
}

TEST_CASE("keep alive 0 never times out") {
  TestServices svc;
  TestClient c(svc, V::V5);
  c.connect("dev", true, {}, 0);
  c.link().on_tick(kT0 + 1000h);
  CHECK_FALSE(c.link().closing());
}

TEST_CASE("CONNECT timeout") {
  TestServices svc;
  svc.lim.connect_timeout = 10;
  TestClient c(svc, V::V5);
  c.link().on_tick(kT0 + 9s);
  CHECK_FALSE(c.link().closing());
  c.link().on_tick(kT0 + 10s);
  CHECK(c.link().closing());
  CHECK(c.take().empty());
}

TEST_CASE("stuck reader: pending bytes with no write progress close the link") {
  TestServices svc;
  svc.lim.stuck_timeout = 30;
  TestClient c(svc, V::V5);
  c.send(connect_packet(V::V5, "dev"));  // CONNACK stays pending: never taken
  c.link().on_tick(kT0 + 29s);
  CHECK_FALSE(c.link().closing());
  c.link().on_write_progress(kT0 + 20s);
  c.link().on_tick(kT0 + 49s);
  CHECK_FALSE(c.link().closing());
  c.link().on_tick(kT0 + 50s);
  CHECK(c.link().closing());
  CHECK(c.link().out().empty());
  CHECK(svc.session_count() == 0);
}

// ---- input framing ----

TEST_CASE("packets split across reads and several packets in one read") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    TestClient c(svc, v);
    Bytes stream = encode(connect_packet(v, "dev"), v);
    for (int i = 1; i <= 3; ++i) {
      const Bytes p = encode(publish_packet("t", "payload", 1, static_cast<uint16_t>(i)), v);
      stream.insert(stream.end(), p.begin(), p.end());
    }
    for (uint8_t b : stream) c.feed(Bytes{b});
    auto out = c.take();
    REQUIRE(out.size() == 4);
    CHECK(out[0].type() == PacketType::Connack);
    for (int i = 1; i <= 3; ++i) CHECK(out[static_cast<size_t>(i)].as<codec::Ack>().packet_id == i);

    TestClient d(svc, v, 2);
    d.feed(stream);  // everything at once, CONNECT included
    CHECK(d.take().size() == 4);
  }
}

TEST_CASE("a packet over our maximum packet size closes the connection") {
  TestServices svc;
  svc.lim.max_packet_size = 100;
  TestClient c(svc, V::V5);
  c.connect("dev");
  c.send(publish_packet("t", std::string(200, 'x')));
  expect_v5_disconnect(c, ReasonCode::PacketTooLarge);
  CHECK(svc.published.empty());
}

TEST_CASE("issue 2: UNSUBSCRIBE of an invalid filter -> UNSUBACK 0x8F (MQTT 5)") {
  TestServices svc;
  TestClient c(svc, V::V5);
  c.connect("sub");
  codec::Unsubscribe u;
  u.packet_id = 7;
  u.filters = {"a/#/b"};
  c.send(u);
  auto out = c.take();
  REQUIRE(out.size() == 1);
  CHECK(out[0].as<codec::Unsuback>().reason_codes ==
        std::vector<ReasonCode>{ReasonCode::TopicFilterInvalid});
  CHECK_FALSE(c.link().closing());
}

TEST_CASE("issue 2: a PUBLISH from a client carrying a subscription identifier -> DISCONNECT 0x82") {
  TestServices svc;
  TestClient c(svc, V::V5);
  c.connect("pub");
  auto p = publish_packet("t", "x", 1, 1);
  p.properties.subscription_identifiers.push_back(3);
  c.send(p);
  expect_closed_for(c, ReasonCode::ProtocolError);
  CHECK(svc.published.empty());
}

// Retained replay is lazy: the session keeps a cursor per filter and takes the next chunk from
// the router only once the connection has room (outbound budget) and the window is open.
namespace {

// Publishes `n` retained messages r/<i> at `qos` (QoS 0: no acks to read).
void load_retained(TestServices& svc, int n, uint8_t qos = 0) {
  TestClient pub(svc, V::V5, 100);
  pub.connect("loader");
  for (int i = 0; i < n; ++i) {
    pub.send(publish_packet("r/" + std::to_string(i), "x", qos, qos ? 1 : 0, /*retain=*/true));
    pub.take();
  }
}

}  // namespace

TEST_CASE("retained replay is paced by the outbound budget") {
  TestServices svc;
  svc.lim.outbound_budget = 256;
  load_retained(svc, 1000);
  TestClient sub(svc, V::V5, 2);
  sub.connect("sub");
  auto s = subscribe_packet(1, "r/#", 1);
  s.properties.subscription_identifiers = {9};
  sub.subscribe(s);
  Session* session = svc.session_of("sub");
  REQUIRE(session != nullptr);
  CHECK(session->retained_replays() == 1);
  std::vector<std::string> topics;
  auto collect = [&](std::vector<Sent> sent) {
    auto list = publishes(std::move(sent));  // outlives the loop (the views point into it)
    for (const auto& p : list.list()) {
      CHECK(p.retain);
      CHECK(p.qos == 0);  // min(message, granted)
      CHECK(p.properties.subscription_identifiers == std::vector<uint32_t>{9});
      topics.emplace_back(p.topic);
    }
  };
  collect(sub.take_pending());
  for (int rounds = 0; rounds < 10000 && session->retained_replays() + session->queued(); ++rounds) {
    // What a client that has not read holds: one chunk at most, and the budget's bytes.
    CHECK(session->queued() <= 64);
    CHECK(sub.link().out().pending_bytes() < 256 + 64);
    session->pump(svc.t);  // what the worker does when the socket drained
    collect(sub.take());
  }
  CHECK(session->retained_replays() == 0);
  CHECK(session->queued() == 0);
  REQUIRE(topics.size() == 1000);
  // In topic order (level by level, as bytes), each once.
  std::vector<std::string> want;
  for (int i = 0; i < 1000; ++i) want.push_back("r/" + std::to_string(i));
  std::sort(want.begin(), want.end());
  CHECK(topics == want);
}

TEST_CASE("retained replay waits for the QoS window") {
  TestServices svc;
  svc.lim.max_inflight = 5;
  load_retained(svc, 300, 1);
  TestClient sub(svc, V::V311, 2);
  sub.connect("sub");
  sub.subscribe(subscribe_packet(1, "r/+", 2));
  Session* session = svc.session_of("sub");
  REQUIRE(session != nullptr);
  size_t got = 0;
  std::vector<Sent> sent = sub.take_pending();
  for (int rounds = 0; rounds < 1000; ++rounds) {
    auto list = publishes(std::move(sent));
    if (list.empty()) break;
    CHECK(session->inflight() <= 5);
    CHECK(session->queued() <= 64);
    for (const auto& p : list.list()) {
      CHECK(p.retain);
      CHECK(p.qos == 1);
      ++got;
      sub.send(ack_packet(PacketType::Puback, p.packet_id));
    }
    sent = sub.take();
  }
  CHECK(got == 300);
  CHECK(session->retained_replays() == 0);
}

TEST_CASE("retained replay: UNSUBSCRIBE stops it, a re-SUBSCRIBE restarts it") {
  TestServices svc;
  svc.lim.outbound_budget = 64;
  load_retained(svc, 500);
  TestClient sub(svc, V::V5, 2);
  sub.connect("sub");
  sub.subscribe(subscribe_packet(1, "r/+", 0));
  Session* session = svc.session_of("sub");
  REQUIRE(session != nullptr);
  size_t first = publishes(sub.take_pending()).size();
  CHECK(first < 500);
  // Subscribing again (retain handling 0) starts the filter over: one cursor, not two.
  sub.subscribe(subscribe_packet(2, "r/+", 0));
  CHECK(session->retained_replays() == 1);
  sub.take_pending();
  codec::Unsubscribe u;
  u.packet_id = 3;
  u.filters.push_back("r/+");
  sub.send(u);
  CHECK(session->retained_replays() == 0);
  size_t after = 0;
  for (int rounds = 0; rounds < 100; ++rounds) {
    session->pump(svc.t);
    after += publishes(sub.take()).size();
  }
  CHECK(after <= 64);  // the chunk already taken, no more
  CHECK(session->queued() == 0);
}

TEST_CASE("retained replay of a persistent session goes on at the next connection") {
  TestServices svc;
  svc.lim.outbound_budget = 128;
  load_retained(svc, 400);
  codec::Properties props;
  props.session_expiry_interval = 600;
  std::set<std::string> topics;
  size_t total = 0;
  auto collect = [&](std::vector<Sent> sent) {
    auto list = publishes(std::move(sent));  // outlives the loop (the views point into it)
    for (const auto& p : list.list()) {
      topics.emplace(p.topic);
      ++total;
    }
  };
  {
    TestClient sub(svc, V::V5, 2);
    sub.connect("sub", /*clean_start=*/true, props);
    sub.subscribe(subscribe_packet(1, "r/#", 0));
    collect(sub.take_pending());
    REQUIRE(svc.session_of("sub") != nullptr);
    CHECK(svc.session_of("sub")->retained_replays() == 1);
  }  // the connection drops mid-replay
  Session* session = svc.session_of("sub");
  REQUIRE(session != nullptr);
  CHECK(session->link() == nullptr);
  CHECK(session->retained_replays() == 1);
  TestClient again(svc, V::V5, 3);
  auto c = connect_packet(V::V5, "sub", /*clean_start=*/false);
  c.properties = props;
  again.send(c);
  auto sent = again.take();  // CONNACK, then what the session sends at once
  REQUIRE(!sent.empty());
  REQUIRE(sent[0].type() == PacketType::Connack);
  CHECK(sent[0].as<codec::Connack>().session_present);
  collect(std::move(sent));
  for (int rounds = 0; rounds < 10000 && session->retained_replays() + session->queued(); ++rounds) {
    session->pump(svc.t);
    collect(again.take());
  }
  CHECK(total == 400);
  CHECK(topics.size() == 400);
}
