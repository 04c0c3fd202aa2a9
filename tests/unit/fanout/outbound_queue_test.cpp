// OutboundQueue and Message (fanout/). A PUBLISH assembled from a shared Message plus per-delivery
// fields must be byte for byte what codec::encode() writes for the same packet, whatever the
// piece boundaries and however the bytes are consumed.
#include <doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "codec/codec.hpp"
#include "fanout/message.hpp"
#include "fanout/outbound_queue.hpp"

using namespace hydrant;
using namespace hydrant::codec;
using fanout::Clock;
using fanout::DeliveryFields;
using fanout::Message;
using fanout::MessageRef;
using fanout::OutboundQueue;
using V = ProtocolVersion;

namespace {

const Clock::time_point kT0{std::chrono::seconds(1000)};

// Every pending byte, in order, through gather().
Bytes gathered(const OutboundQueue& q) {
  std::vector<iovec> iov(1024);
  const int n = q.gather(iov.data(), static_cast<int>(iov.size()));
  Bytes out;
  for (int i = 0; i < n; ++i) {
    const auto* p = static_cast<const uint8_t*>(iov[static_cast<size_t>(i)].iov_base);
    out.insert(out.end(), p, p + iov[static_cast<size_t>(i)].iov_len);
  }
  return out;
}

Bytes encoded(const Packet& p, V v) {
  Bytes out;
  encode(p, v, out);
  return out;
}

// The packet codec::encode() would write for `msg` delivered with `f`. `extra` holds the
// forwarded properties the message was created with.
Publish expected_publish(const Message& msg, const DeliveryFields& f, V v,
                         const Properties& extra = {}) {
  Publish p;
  p.dup = f.dup;
  p.qos = f.qos;
  p.retain = f.retain;
  p.topic = f.omit_topic ? std::string_view() : msg.topic();
  p.packet_id = f.packet_id;
  p.payload = msg.payload();
  if (v == V::V5) {
    p.properties = extra;
    p.properties.message_expiry_interval = f.expiry_left;
    p.properties.subscription_identifiers.assign(f.subscription_ids.begin(),
                                                 f.subscription_ids.end());
    if (f.topic_alias) p.properties.topic_alias = f.topic_alias;
  }
  return p;
}

// Pushes one delivery, checks the size accounting, the exact bytes and the decoded fields.
void check_publish(const MessageRef& msg, const DeliveryFields& f, V v) {
  OutboundQueue q;
  const uint32_t size = q.push_publish(msg, f, v);
  const Publish want = expected_publish(*msg, f, v);
  const Bytes want_bytes = encoded(Packet{want}, v);
  const Bytes got = gathered(q);
  CHECK(got == want_bytes);
  CHECK(size == got.size());
  CHECK(OutboundQueue::publish_size(*msg, f, v) == got.size());
  CHECK(q.pending_bytes() == got.size());
  auto back = decode(ByteView(got), v);
  REQUIRE_MESSAGE(back.ok(), "decode failed: ", back.error().context);
  REQUIRE(std::holds_alternative<Publish>(*back));
  CHECK(std::get<Publish>(*back) == want);
}

MessageRef make(std::string_view topic, std::string_view payload, const Properties& props = {},
                uint8_t qos = 2) {
  return Message::create(topic, payload, qos, false, props, 7, kT0);
}

}  // namespace

TEST_CASE("push_publish matches codec::encode for every delivery field, 3.1.1 and 5") {
  const auto msg = make("sensors/temp", "21.5");
  const uint32_t ids[] = {1, 300, 70000, 268435455};
  for (V v : {V::V311, V::V5}) {
    CAPTURE(static_cast<int>(v));
    for (uint8_t qos = 0; qos <= 2; ++qos) {
      CAPTURE(static_cast<int>(qos));
      DeliveryFields f;
      f.qos = qos;
      f.packet_id = qos ? uint16_t{0xBEEF} : uint16_t{0};
      check_publish(msg, f, v);
      f.dup = qos > 0;
      f.retain = true;
      check_publish(msg, f, v);
      f.subscription_ids = ids;  // ignored by 3.1.1
      check_publish(msg, f, v);
      f.topic_alias = 9;
      check_publish(msg, f, v);
      f.expiry_left = 3600;
      check_publish(msg, f, v);
      f.omit_topic = v == V::V5;  // an empty topic exists only with an alias in MQTT 5
      check_publish(msg, f, v);
      f.subscription_ids = {};
      check_publish(msg, f, v);
    }
  }
}

TEST_CASE("push_publish with an empty payload and with a payload past 127 bytes") {
  const std::string big(20000, 'x');  // Remaining Length needs 3 bytes
  for (V v : {V::V311, V::V5}) {
    CAPTURE(static_cast<int>(v));
    DeliveryFields f;
    f.qos = 1;
    f.packet_id = 1;
    check_publish(make("t", ""), f, v);
    check_publish(make("t", big), f, v);
    f.expiry_left = 1;
    check_publish(make(std::string(300, 'a'), big), f, v);
  }
}

TEST_CASE("push_publish carries the forwarded MQTT 5 properties") {
  static const char kCorr[] = {'\x00', '\x01', '\xff'};
  Properties in;
  in.payload_format_indicator = 1;
  in.content_type = "application/json";
  in.response_topic = "reply/to";
  in.correlation_data = std::string_view(kCorr, sizeof kCorr);
  in.user_properties = {{"k1", "v1"}, {"k1", "v2"}, {"z", ""}};
  const auto msg = make("a/b", "{}", in);

  SUBCASE("without per-delivery properties the bytes equal codec::encode") {
    DeliveryFields f;
    f.qos = 1;
    f.packet_id = 5;
    OutboundQueue q;
    q.push_publish(msg, f, V::V5);
    const Bytes got = gathered(q);
    Publish want = expected_publish(*msg, f, V::V5, in);
    CHECK(got == encoded(Packet{want}, V::V5));
  }
  SUBCASE("with per-delivery properties: same packet, same size (property order differs)") {
    const uint32_t ids[] = {4, 200};
    DeliveryFields f;
    f.qos = 2;
    f.packet_id = 6;
    f.subscription_ids = ids;
    f.topic_alias = 2;
    f.expiry_left = 10;
    OutboundQueue q;
    const uint32_t size = q.push_publish(msg, f, V::V5);
    const Bytes got = gathered(q);
    const Publish want = expected_publish(*msg, f, V::V5, in);
    CHECK(got.size() == size);
    CHECK(size == encoded_size(Packet{want}, V::V5));
    auto back = decode(ByteView(got), V::V5);
    REQUIRE(back.ok());
    CHECK(std::get<Publish>(*back) == want);
  }
  SUBCASE("3.1.1 sends none of them") {
    DeliveryFields f;
    OutboundQueue q;
    q.push_publish(msg, f, V::V311);
    Publish want = expected_publish(*msg, f, V::V311);
    CHECK(gathered(q) == encoded(Packet{want}, V::V311));
  }
}

TEST_CASE("Message::create forwards what travels with a message and drops the rest") {
  Properties in;
  in.payload_format_indicator = 1;
  in.message_expiry_interval = 30;
  in.content_type = "text/plain";
  in.response_topic = "r";
  in.correlation_data = "cd";
  in.user_properties = {{"a", "1"}};
  in.topic_alias = 3;
  in.subscription_identifiers = {8};
  const auto msg = Message::create("x/y", "payload", 1, true, in, 42, kT0);
  CHECK(msg->topic() == "x/y");
  CHECK(msg->payload() == "payload");
  CHECK(msg->qos() == 1);
  CHECK(msg->retain());
  CHECK(msg->origin_session() == 42);
  CHECK(msg->has_expiry());

  Properties fwd;
  fwd.payload_format_indicator = 1;
  fwd.content_type = "text/plain";
  fwd.response_topic = "r";
  fwd.correlation_data = "cd";
  fwd.user_properties = {{"a", "1"}};
  Bytes block;
  append_properties(fwd, block);
  const std::string_view body(reinterpret_cast<const char*>(block.data()) + 1, block.size() - 1);
  CHECK(msg->forwarded_properties() == body);  // no alias, no subscription id, no expiry

  // Delivered without per-delivery fields, the client sees exactly the forwarded properties.
  OutboundQueue q;
  q.push_publish(msg, DeliveryFields{}, V::V5);
  const Bytes got = gathered(q);
  auto back = decode(ByteView(got), V::V5);
  REQUIRE(back.ok());
  CHECK(std::get<Publish>(*back).properties == fwd);

  const auto plain = Message::create("t", "", 0, false, Properties{}, 0, kT0);
  CHECK(plain->forwarded_properties().empty());
  CHECK(plain->payload().empty());
  CHECK_FALSE(plain->has_expiry());
  CHECK_FALSE(plain->expiry_left(kT0).has_value());
  CHECK_FALSE(plain->expired(kT0 + std::chrono::hours(1000)));
}

TEST_CASE("Message::expiry_left rounds up and reaches 0 at the deadline") {
  using namespace std::chrono_literals;
  Properties in;
  in.message_expiry_interval = 10;
  const auto msg = make("t", "p", in);
  CHECK(msg->expiry_left(kT0) == 10u);
  CHECK(msg->expiry_left(kT0 + 1ms) == 10u);
  CHECK(msg->expiry_left(kT0 + 500ms) == 10u);
  CHECK(msg->expiry_left(kT0 + 1s) == 9u);
  CHECK(msg->expiry_left(kT0 + 9s) == 1u);
  CHECK(msg->expiry_left(kT0 + 9999ms) == 1u);
  CHECK_FALSE(msg->expired(kT0 + 9999ms));
  CHECK(msg->expiry_left(kT0 + 10s) == 0u);
  CHECK(msg->expired(kT0 + 10s));
  CHECK(msg->expiry_left(kT0 + 1h) == 0u);

  Properties zero;
  zero.message_expiry_interval = 0;
  const auto gone = make("t", "p", zero);
  CHECK(gone->has_expiry());
  CHECK(gone->expired(kT0));
  CHECK(gone->expiry_left(kT0) == 0u);
}

TEST_CASE("push_packet queues a control packet's exact bytes") {
  for (V v : {V::V311, V::V5}) {
    CAPTURE(static_cast<int>(v));
    OutboundQueue q;
    CHECK(q.empty());
    CHECK(q.pending_bytes() == 0);
    const Packet ack = Ack{PacketType::Puback, 0x0102, ReasonCode::Success, {}};
    const Packet ping = Pingresp{};
    Suback sub{9, {}, {ReasonCode::GrantedQos1, ReasonCode::UnspecifiedError}};
    q.push_packet(ack, v);
    q.push_packet(ping, v);
    q.push_packet(Packet{sub}, v);
    Bytes want = encoded(ack, v);
    for (const Bytes& b : {encoded(ping, v), encoded(Packet{sub}, v)}) {
      want.insert(want.end(), b.begin(), b.end());
    }
    CHECK_FALSE(q.empty());
    CHECK(q.pending_bytes() == want.size());
    CHECK(gathered(q) == want);
  }
}

TEST_CASE("push_packet of a control packet larger than 64 KiB") {
  // A SUBACK answering a SUBSCRIBE of 70000 filters (possible within the default 1 MiB limit).
  Suback sub{1, {}, std::vector<ReasonCode>(70000, ReasonCode::GrantedQos1)};
  OutboundQueue q;
  q.push_packet(Packet{sub}, V::V5);
  const Bytes want = encoded(Packet{sub}, V::V5);
  CHECK(q.pending_bytes() == want.size());
  CHECK(gathered(q) == want);
}

TEST_CASE("consume one byte at a time across every piece boundary") {
  static const char kCorr[] = {'c', 'd'};
  Properties in;
  in.correlation_data = std::string_view(kCorr, 2);
  in.user_properties = {{"u", "v"}};
  const auto with_props = make("a/b/c", "payload", in);
  const auto bare = make("t", "");
  const uint32_t ids[] = {1, 2, 3000};
  std::string long_topic(100, 'L');
  const auto big_own = make(long_topic, std::string(200, 'p'));

  for (V v : {V::V311, V::V5}) {
    CAPTURE(static_cast<int>(v));
    OutboundQueue q;
    Bytes want;
    auto add_publish = [&](const MessageRef& m, const DeliveryFields& f) {
      q.push_publish(m, f, v);
      Bytes b = gathered(q);
      want = b;  // gathered() returns everything pending, which is the whole stream so far
    };
    DeliveryFields f1;
    f1.qos = 1;
    f1.packet_id = 10;
    f1.subscription_ids = ids;
    f1.topic_alias = v == V::V5 ? 1 : 0;
    f1.expiry_left = 99;
    add_publish(with_props, f1);
    q.push_packet(Ack{PacketType::Pubrel, 3, ReasonCode::Success, {}}, v);
    want = gathered(q);
    DeliveryFields f2;
    f2.omit_topic = v == V::V5;
    f2.topic_alias = v == V::V5 ? 1 : 0;
    add_publish(with_props, f2);
    add_publish(bare, DeliveryFields{});
    DeliveryFields f3;
    f3.qos = 2;
    f3.packet_id = 11;
    f3.subscription_ids = ids;
    add_publish(big_own, f3);
    REQUIRE(q.pending_bytes() == want.size());

    for (size_t done = 0; done < want.size();) {
      q.consume(1);
      ++done;
      CHECK(q.pending_bytes() == want.size() - done);
      const Bytes rest = gathered(q);
      if (rest != Bytes(want.begin() + static_cast<std::ptrdiff_t>(done), want.end())) {
        FAIL("mismatch after consuming ", done, " bytes");
      }
    }
    CHECK(q.empty());
    CHECK(q.pending_bytes() == 0);
    iovec iov[4];
    CHECK(q.gather(iov, 4) == 0);
  }
}

TEST_CASE("gather honours max and consume takes whole items and partial fronts") {
  const auto msg = make("topic", "payload");
  OutboundQueue q;
  DeliveryFields f;
  f.qos = 1;
  f.packet_id = 1;
  const uint32_t a = q.push_publish(msg, f, V::V5);
  f.packet_id = 2;
  const uint32_t b = q.push_publish(msg, f, V::V5);
  const Bytes all = gathered(q);
  REQUIRE(all.size() == size_t{a} + b);

  iovec iov[2];
  const int n = q.gather(iov, 2);
  CHECK(n == 2);
  Bytes prefix;
  for (int i = 0; i < n; ++i) {
    const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
    prefix.insert(prefix.end(), p, p + iov[i].iov_len);
  }
  CHECK(Bytes(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(prefix.size())) == prefix);

  q.consume(a + 3);  // the first item and 3 bytes of the second
  CHECK(q.pending_bytes() == b - 3);
  CHECK(gathered(q) == Bytes(all.begin() + a + 3, all.end()));
  q.consume(1000);  // more than pending: clamps
  CHECK(q.pending_bytes() == 0);
  CHECK(q.empty());

  q.push_packet(Pingresp{}, V::V311);
  q.push_publish(msg, f, V::V311);
  CHECK(q.pending_bytes() > 0);
  q.clear();
  CHECK(q.empty());
  CHECK(q.pending_bytes() == 0);
  CHECK(gathered(q).empty());
}

TEST_CASE("a queued PUBLISH keeps its Message alive") {
  OutboundQueue q;
  std::weak_ptr<const Message> weak;
  {
    auto msg = make("t", "p");
    weak = msg;
    q.push_publish(std::move(msg), DeliveryFields{}, V::V311);
  }
  CHECK_FALSE(weak.expired());
  CHECK(gathered(q) == encoded(Packet{Publish{false, 0, false, "t", 0, {}, "p"}}, V::V311));
  q.consume(q.pending_bytes());
  CHECK(weak.expired());
}

TEST_CASE("issue 3: push_publish refuses, and queues nothing, past the given maximum size") {
  OutboundQueue q;
  auto msg = Message::create("t/x", std::string(100, 'p'), 1, false, {}, 0, Clock::now());
  DeliveryFields f;
  f.qos = 1;
  f.packet_id = 3;
  const uint32_t size = OutboundQueue::publish_size(*msg, f, codec::ProtocolVersion::V311);
  CHECK(q.push_publish(msg, f, codec::ProtocolVersion::V311, size - 1) == 0);
  CHECK(q.empty());
  CHECK(q.pending_bytes() == 0);
  CHECK(q.push_publish(msg, f, codec::ProtocolVersion::V311, size) == size);
  CHECK(q.pending_bytes() == size);
}
