// Session delivery through a ClientLink, Sans-I/O: the outbound QoS 1/2 window, QoS 2 flow,
// client Maximum Packet Size, the outbound budget, outbound topic aliases, and a persistent
// session's queue and in-flight messages across reconnects.
#include <chrono>

#include "session_test_util.hpp"

using namespace hydrant;
using namespace hydrant::session;
using namespace hydrant::session::test;
using namespace std::chrono_literals;
using codec::Properties;
using codec::Publish;

namespace {


constexpr V kBoth[] = {V::V311, V::V5};

// A subscriber on `filter` with QoS `qos`, connected with `props` (MQTT 5 only).
void connect_subscriber(TestClient& c, std::string_view id, std::string_view filter, uint8_t qos,
                        const Properties& props = {}, bool clean_start = true) {
  c.connect(id, clean_start, c.version() == V::V5 ? props : Properties{});
  c.subscribe(subscribe_packet(1, filter, qos));
  c.take_pending();
}

}  // namespace

TEST_CASE("outbound QoS 1: the window is the client's Receive Maximum (5) or max_inflight") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    if (v == V::V311) svc.lim.max_inflight = 2;
    TestClient sub(svc, v, 1);
    Properties p;
    p.receive_maximum = 2;
    connect_subscriber(sub, "sub", "q", 1, p);
    TestClient pub(svc, v, 2);
    pub.connect("pub");
    for (int i = 1; i <= 4; ++i) {
      pub.send(publish_packet("q", std::to_string(i), 1, static_cast<uint16_t>(i)));
    }
    CHECK(pub.take().size() == 4);  // PUBACKs: the publisher is never held up by a subscriber

    auto got = publishes(sub.take());
    REQUIRE(got.size() == 2);
    CHECK(got[0].payload == "1");
    CHECK(got[0].qos == 1);
    CHECK(got[1].payload == "2");
    CHECK(got[0].packet_id != got[1].packet_id);
    Session* s = svc.session_of("sub");
    CHECK(s->inflight() == 2);
    CHECK(s->queued() == 2);

    sub.send(ack_packet(PacketType::Puback, 0x7777));  // unknown: ignored
    CHECK(sub.take().empty());
    sub.send(ack_packet(PacketType::Puback, got[0].packet_id));
    auto next = publishes(sub.take());
    REQUIRE(next.size() == 1);
    CHECK(next[0].payload == "3");
    sub.send(ack_packet(PacketType::Puback, got[1].packet_id));
    auto last = publishes(sub.take());
    REQUIRE(last.size() == 1);
    CHECK(last[0].payload == "4");
    CHECK(s->queued() == 0);
    sub.send(ack_packet(PacketType::Puback, next[0].packet_id));
    sub.send(ack_packet(PacketType::Puback, last[0].packet_id));
    CHECK(sub.take().empty());
    CHECK(s->inflight() == 0);
  }
}

TEST_CASE("outbound QoS is the minimum of the message's and the subscription's") {
  for (V v : kBoth) {
    TestServices svc;
    TestClient sub(svc, v, 1);
    connect_subscriber(sub, "sub", "q", 1);
    TestClient pub(svc, v, 2);
    pub.connect("pub");
    pub.send(publish_packet("q", "a", 2, 1));
    pub.send(publish_packet("q", "b", 0));
    const auto got = publishes(sub.take());
    REQUIRE(got.size() == 2);
    CHECK(got[0].qos == 1);
    CHECK(got[1].qos == 0);
  }
}

TEST_CASE("outbound QoS 2: PUBLISH, PUBREC -> PUBREL, PUBCOMP; the slot frees at PUBCOMP") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    if (v == V::V311) svc.lim.max_inflight = 1;
    TestClient sub(svc, v, 1);
    Properties p;
    p.receive_maximum = 1;
    connect_subscriber(sub, "sub", "q", 2, p);
    TestClient pub(svc, v, 2);
    pub.connect("pub");
    pub.send(publish_packet("q", "1", 2, 1));
    pub.send(publish_packet("q", "2", 2, 2));

    auto got = publishes(sub.take());
    REQUIRE(got.size() == 1);
    CHECK(got[0].qos == 2);
    const uint16_t id = got[0].packet_id;
    sub.send(ack_packet(PacketType::Pubrec, id));
    sub.take();
    CHECK(sub.last_raw() == bytes({0x62, 0x02, id >> 8, id & 0xFF}));  // PUBREL only
    Session* s = svc.session_of("sub");
    CHECK(s->inflight() == 1);
    CHECK(s->queued() == 1);

    sub.send(ack_packet(PacketType::Pubcomp, id));
    got = publishes(sub.take());
    REQUIRE(got.size() == 1);
    CHECK(got[0].payload == "2");
    sub.send(ack_packet(PacketType::Pubrec, got[0].packet_id));
    sub.send(ack_packet(PacketType::Pubcomp, got[0].packet_id));
    sub.take();
    CHECK(s->inflight() == 0);
  }
}

TEST_CASE("outbound QoS 2, 5: PUBREC with an error ends the flow; unknown PUBREC -> PUBREL 0x92") {
  TestServices svc;
  TestClient sub(svc, V::V5, 1);
  connect_subscriber(sub, "sub", "q", 2);
  TestClient pub(svc, V::V5, 2);
  pub.connect("pub");
  pub.send(publish_packet("q", "1", 2, 1));
  auto got = publishes(sub.take());
  REQUIRE(got.size() == 1);
  sub.send(ack_packet(PacketType::Pubrec, got[0].packet_id, ReasonCode::UnspecifiedError));
  CHECK(sub.take().empty());  // no PUBREL follows an error PUBREC
  CHECK(svc.session_of("sub")->inflight() == 0);

  sub.send(ack_packet(PacketType::Pubrec, 0x0505));
  sub.take();
  CHECK(sub.last_raw() == bytes({0x62, 0x03, 0x05, 0x05, 0x92}));
}

TEST_CASE("client Maximum Packet Size: a larger delivery is not sent and counts as dropped") {
  TestServices svc;
  TestClient sub(svc, V::V5, 1);
  Properties p;
  p.maximum_packet_size = 30;
  connect_subscriber(sub, "sub", "big/#", 1, p);
  TestClient pub(svc, V::V5, 2);
  pub.connect("pub");
  const uint64_t dropped = svc.ctr.messages_dropped.get();
  pub.send(publish_packet("big/x", std::string(100, 'x'), 1, 1));
  CHECK(publishes(sub.take()).empty());
  CHECK(svc.ctr.messages_dropped.get() == dropped + 1);
  CHECK(svc.session_of("sub")->inflight() == 0);
  pub.send(publish_packet("big/x", "small", 0));
  const auto got = publishes(sub.take());
  REQUIRE(got.size() == 1);
  CHECK(sub.last_raw().size() <= 30);
}

TEST_CASE("outbound budget: QoS 0 past the budget is dropped, QoS 1 waits") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    svc.lim.outbound_budget = 100;
    TestClient sub(svc, v, 1);
    connect_subscriber(sub, "sub", "b", 1);
    TestClient pub(svc, v, 2);
    pub.connect("pub");
    const std::string payload(30, 'p');
    const uint64_t dropped = svc.ctr.messages_dropped.get();
    for (int i = 0; i < 10; ++i) pub.send(publish_packet("b", payload, 0));
    const size_t pending = sub.link().out().pending_bytes();
    const auto got = publishes(sub.take());
    const size_t each = pending / got.size();
    const size_t sent = (100 + each - 1) / each;  // sent while below the budget
    CHECK(got.size() == sent);
    CHECK(svc.ctr.messages_dropped.get() == dropped + (10 - sent));

    // Fill the budget again, then a QoS 1 message queues instead of being dropped.
    for (size_t i = 0; i < sent; ++i) pub.send(publish_packet("b", payload, 0));
    pub.send(publish_packet("b", "q1", 1, 1));
    Session* s = svc.session_of("sub");
    CHECK(s->queued() == 1);
    CHECK(publishes(sub.take()).size() == sent);
    s->pump(svc.t);  // what the worker does after a flush
    const auto later = publishes(sub.take());
    REQUIRE(later.size() == 1);
    CHECK(later[0].payload == "q1");
  }
}

TEST_CASE("outbound topic aliases, 5: first use carries the topic, then it is omitted") {
  TestServices svc;
  TestClient sub(svc, V::V5, 1);
  Properties p;
  p.topic_alias_maximum = 1;
  connect_subscriber(sub, "sub", "t/#", 0, p);
  TestClient pub(svc, V::V5, 2);
  pub.connect("pub");
  pub.send(publish_packet("t/a", "1"));
  pub.send(publish_packet("t/a", "2"));
  pub.send(publish_packet("t/b", "3"));  // the table is full: no alias
  pub.send(publish_packet("t/a", "4"));
  const auto got = publishes(sub.take());
  REQUIRE(got.size() == 4);
  CHECK(got[0].topic == "t/a");
  CHECK(got[0].properties.topic_alias == uint16_t{1});
  CHECK(got[1].topic.empty());
  CHECK(got[1].properties.topic_alias == uint16_t{1});
  CHECK(got[2].topic == "t/b");
  CHECK_FALSE(got[2].properties.topic_alias.has_value());
  CHECK(got[3].topic.empty());
  CHECK(got[3].properties.topic_alias == uint16_t{1});
}

TEST_CASE("issue: an outbound topic alias is not bound by a delivery that was dropped") {
  // A delivery over the client's Maximum Packet Size used to bind the alias although the
  // client never saw the PUBLISH that set it; the next PUBLISH then carried only the alias.
  TestServices svc;
  TestClient sub(svc, V::V5, 1);
  Properties p;
  p.topic_alias_maximum = 10;
  p.maximum_packet_size = 40;
  connect_subscriber(sub, "sub", "al/#", 0, p);
  TestClient pub(svc, V::V5, 2);
  pub.connect("pub");
  pub.send(publish_packet("al/t", std::string(100, 'x')));  // dropped: too large
  CHECK(publishes(sub.take()).empty());
  pub.send(publish_packet("al/t", "s"));
  pub.send(publish_packet("al/t", "s2"));
  const auto got = publishes(sub.take());
  REQUIRE(got.size() == 2);
  CHECK(got[0].topic == "al/t");  // the client learns the alias here
  CHECK(got[0].properties.topic_alias.has_value());
  CHECK(got[1].topic.empty());
  CHECK(got[1].properties.topic_alias == got[0].properties.topic_alias);
}

TEST_CASE("persistent session: queued while offline, in-flight re-sent with DUP on reconnect") {
  for (V v : kBoth) {
    CAPTURE(static_cast<int>(v));
    TestServices svc;
    Properties keep;
    keep.session_expiry_interval = 3600;
    uint16_t first_id = 0;
    {
      TestClient sub(svc, v, 1);
      connect_subscriber(sub, "sub", "q", 2, keep, /*clean_start=*/false);
      TestClient pub(svc, v, 2);
      pub.connect("pub");
      pub.send(publish_packet("q", "inflight", 1, 1));
      auto got = publishes(sub.take());
      REQUIRE(got.size() == 1);
      first_id = got[0].packet_id;
      // The subscriber goes away without acknowledging.
      sub.link().on_transport_closed();
      const uint64_t dropped = svc.ctr.messages_dropped.get();
      pub.send(publish_packet("q", "queued", 2, 2));
      pub.send(publish_packet("q", "qos0", 0));  // QoS 0 is not kept for an offline session
      CHECK(svc.ctr.messages_dropped.get() == dropped + 1);
      Session* s = svc.session_of("sub");
      REQUIRE(s != nullptr);
      CHECK(s->link() == nullptr);
      CHECK(s->inflight() == 1);
      CHECK(s->queued() == 1);
    }
    TestClient again(svc, v, 3);
    auto c = connect_packet(v, "sub", false);
    if (v == V::V5) c.properties = keep;
    again.send(c);
    auto out = again.take();
    REQUIRE(out.size() == 3);
    CHECK(out[0].as<codec::Connack>().session_present);
    const auto& resent = out[1].as<Publish>();
    CHECK(resent.dup);
    CHECK(resent.packet_id == first_id);
    CHECK(resent.payload == "inflight");
    const auto& queued = out[2].as<Publish>();
    CHECK_FALSE(queued.dup);
    CHECK(queued.qos == 2);
    CHECK(queued.payload == "queued");
  }
}

TEST_CASE("persistent session: in-flight messages are re-sent in the order sent, across id wrap") {
  TestServices svc;
  Properties keep;
  keep.session_expiry_interval = 3600;
  keep.receive_maximum = 3;
  {
    TestClient sub(svc, V::V5, 1);
    connect_subscriber(sub, "sub", "q", 1, keep, /*clean_start=*/false);
    TestClient pub(svc, V::V5, 2);
    pub.connect("pub");
    // Use up ids 1..65533 one at a time, acknowledged.
    for (int i = 1; i <= 65533; ++i) {
      pub.send(publish_packet("q", "x", 1, 1));
      pub.take();
      auto got = publishes(sub.take());
      REQUIRE(got.size() == 1);
      if (i % 4096 == 0) CHECK(got[0].packet_id == i);
      sub.send(ack_packet(PacketType::Puback, got[0].packet_id));
    }
    // Three left unacknowledged, with ids 65534, 65535, then 1 (0 is not a packet id).
    for (const char* payload : {"first", "second", "third"}) {
      pub.send(publish_packet("q", payload, 1, 1));
    }
    auto got = publishes(sub.take());
    REQUIRE(got.size() == 3);
    CHECK(got[0].packet_id == 65534);
    CHECK(got[2].packet_id == 1);
    sub.link().on_transport_closed();
  }
  TestClient again(svc, V::V5, 3);
  auto c = connect_packet(V::V5, "sub", false);
  c.properties = keep;
  again.send(c);
  auto out = again.take();
  REQUIRE(out.size() == 4);
  const char* order[] = {"first", "second", "third"};
  for (int i = 0; i < 3; ++i) {
    const auto& p = out[static_cast<size_t>(i) + 1].as<Publish>();
    CHECK(p.dup);
    CHECK(p.payload == order[i]);
  }
}

TEST_CASE("an idle connection gives its buffers back and delivers as before afterwards") {
  TestServices svc;
  TestClient sub(svc, V::V5, 1);
  Properties p;
  p.receive_maximum = 1;
  connect_subscriber(sub, "sub", "q", 1, p);
  TestClient pub(svc, V::V5, 2);
  pub.connect("pub");
  pub.send(publish_packet("q", "a", 1, 1));
  pub.send(publish_packet("q", "b", 1, 2));
  auto got = publishes(sub.take());
  REQUIRE(got.size() == 1);
  Session* s = svc.session_of("sub");
  // Not idle: one in flight, one queued. A tick must keep both.
  svc.t += 1s;
  sub.link().on_tick(svc.t);
  CHECK(s->inflight() == 1);
  CHECK(s->queued() == 1);
  sub.send(ack_packet(PacketType::Puback, got[0].packet_id));
  auto next = publishes(sub.take());
  REQUIRE(next.size() == 1);
  CHECK(next[0].payload == "b");
  sub.send(ack_packet(PacketType::Puback, next[0].packet_id));
  CHECK(s->inflight() == 0);
  // Idle now: the tick releases the storage; the next deliveries allocate it again.
  svc.t += 1s;
  sub.link().on_tick(svc.t);
  pub.send(publish_packet("q", "c", 1, 3));
  pub.send(publish_packet("q", "d", 0));
  auto after = publishes(sub.take());
  REQUIRE(after.size() == 2);
  CHECK(after[0].payload == "c");
  CHECK(after[0].packet_id != 0);
  CHECK(after[1].payload == "d");
  CHECK(s->inflight() == 1);
}

TEST_CASE("persistent session: a QoS 2 delivery past PUBREC resumes with PUBREL") {
  TestServices svc;
  Properties keep;
  keep.session_expiry_interval = 3600;
  uint16_t id = 0;
  {
    TestClient sub(svc, V::V5, 1);
    connect_subscriber(sub, "sub", "q", 2, keep, false);
    TestClient pub(svc, V::V5, 2);
    pub.connect("pub");
    pub.send(publish_packet("q", "x", 2, 1));
    auto got = publishes(sub.take());
    REQUIRE(got.size() == 1);
    id = got[0].packet_id;
    sub.send(ack_packet(PacketType::Pubrec, id));
    sub.take();
  }
  TestClient again(svc, V::V5, 3);
  auto c = connect_packet(V::V5, "sub", false);
  c.properties = keep;
  again.send(c);
  auto out = again.take();
  REQUIRE(out.size() == 2);
  CHECK(out[1].as<codec::Ack>().type == PacketType::Pubrel);
  CHECK(out[1].as<codec::Ack>().packet_id == id);
  again.send(ack_packet(PacketType::Pubcomp, id));
  CHECK(svc.session_of("sub")->inflight() == 0);
}

TEST_CASE("offline queue limit: the oldest is dropped and counted") {
  TestServices svc;
  svc.lim.max_queued_messages = 2;
  {
    TestClient sub(svc, V::V311, 1);
    connect_subscriber(sub, "sub", "q", 1, {}, false);
  }
  TestClient pub(svc, V::V311, 2);
  pub.connect("pub");
  const uint64_t dropped = svc.ctr.messages_dropped.get();
  for (int i = 1; i <= 3; ++i) {
    pub.send(publish_packet("q", std::to_string(i), 1, static_cast<uint16_t>(i)));
  }
  CHECK(svc.ctr.messages_dropped.get() == dropped + 1);
  CHECK(svc.session_of("sub")->queued() == 2);
  TestClient again(svc, V::V311, 3);
  again.send(connect_packet(V::V311, "sub", false));
  const auto got = publishes(again.take());
  REQUIRE(got.size() == 2);
  CHECK(got[0].payload == "2");
  CHECK(got[1].payload == "3");
}

TEST_CASE("message expiry, 5: the time left is sent; an expired message is not") {
  TestServices svc;
  Properties keep;
  keep.session_expiry_interval = 3600;
  {
    TestClient sub(svc, V::V5, 1);
    connect_subscriber(sub, "sub", "q", 1, keep, false);
  }
  TestClient pub(svc, V::V5, 2);
  pub.connect("pub");
  auto p = publish_packet("q", "short", 1, 1);
  p.properties.message_expiry_interval = 5;
  pub.send(p);
  p.payload = "long";
  p.packet_id = 2;
  p.properties.message_expiry_interval = 60;
  pub.send(p);

  svc.t = kT0 + 10s;
  TestClient again(svc, V::V5, 3);
  auto c = connect_packet(V::V5, "sub", false);
  c.properties = keep;
  again.send(c);
  const auto got = publishes(again.take());
  REQUIRE(got.size() == 1);
  CHECK(got[0].payload == "long");
  CHECK(got[0].properties.message_expiry_interval == 50u);
}

TEST_CASE("clean start discards the previous session") {
  for (V v : kBoth) {
    TestServices svc;
    Properties keep;
    keep.session_expiry_interval = 3600;
    {
      TestClient sub(svc, v, 1);
      connect_subscriber(sub, "sub", "q", 1, keep, false);
    }
    CHECK(svc.router.subscription_count() == 1);
    TestClient again(svc, v, 2);
    const auto ack = again.connect("sub", true);
    CHECK_FALSE(ack.session_present);
    CHECK(svc.router.subscription_count() == 0);
    CHECK(svc.session_count() == 1);
  }
}

TEST_CASE("no local, 5: a client does not get its own messages") {
  TestServices svc;
  TestClient c(svc, V::V5);
  c.connect("self");
  auto s = subscribe_packet(1, "t", 0);
  s.subscriptions[0].options.no_local = true;
  c.subscribe(s);
  c.send(publish_packet("t", "x"));
  CHECK(c.take().empty());
  CHECK(svc.published.size() == 1);
}

TEST_CASE("issue: an in-flight message too large for the new connection does not block the window") {
  // Re-sent after reconnect to a client that now announces a smaller Maximum Packet Size, the
  // message cannot be sent [MQTT-3.1.2-25]; it used to stay in flight for ever, holding a slot.
  TestServices svc;
  Properties first;
  first.session_expiry_interval = 3600;
  first.receive_maximum = 1;
  {
    TestClient sub(svc, V::V5, 1);
    connect_subscriber(sub, "sub", "q", 1, first, false);
    TestClient pub(svc, V::V5, 2);
    pub.connect("pub");
    pub.send(publish_packet("q", std::string(200, 'x'), 1, 1));
    REQUIRE(publishes(sub.take()).size() == 1);  // never acknowledged
  }
  Properties small = first;
  small.maximum_packet_size = 100;
  TestClient again(svc, V::V5, 3);
  again.connect("sub", false, small);
  CHECK(svc.session_of("sub")->inflight() == 0);
  TestClient pub(svc, V::V5, 4);
  pub.connect("pub2");
  pub.send(publish_packet("q", "small", 1, 1));
  const auto got = publishes(again.take());
  REQUIRE(got.size() == 1);
  CHECK(got[0].payload == "small");
}

TEST_CASE("issue: an answer with a reason string stays within the client's Maximum Packet Size") {
  // Reason strings are optional and MUST NOT make a packet exceed the client's Maximum Packet
  // Size [MQTT-3.1.2-24]; the PUBACK and the DISCONNECT then go without them.
  TestServices svc;
  TestClient c(svc, V::V5);
  Properties p;
  p.maximum_packet_size = 16;
  c.connect("dev", true, p);
  auto bad = publish_packet("t", "\xff", 1, 1);
  bad.properties.payload_format_indicator = 1;
  c.send(bad);
  auto out = c.take();
  REQUIRE(out.size() == 1);
  CHECK(out[0].as<codec::Ack>().reason_code == ReasonCode::PayloadFormatInvalid);
  CHECK(out[0].raw.size() <= 16);
  c.send(publish_packet("a/+", "x"));
  out = c.take();
  REQUIRE(out.size() == 1);
  CHECK(out[0].as<codec::Disconnect>().reason_code == ReasonCode::TopicNameInvalid);
  CHECK(out[0].raw.size() <= 16);
}
