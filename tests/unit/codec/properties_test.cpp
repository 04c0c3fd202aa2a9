// MQTT 5 properties (2.2.2): every identifier in every packet type that can carry properties,
// checked against the table of 2.2.2.2 written out again here; duplicates, value ranges, UTF-8,
// truncation, unknown identifiers, and the writer's byte form.
#include <functional>
#include <string>

#include "codec_test_util.hpp"

using namespace hydrant;
using namespace hydrant::codec;
using namespace hydrant::codec::test;

namespace {

enum class Ctx { Connect, Will, Connack, Publish, Puback, Pubrel, Subscribe, Suback, Unsubscribe,
                 Unsuback, Disconnect, Auth };
constexpr Ctx kAllCtx[] = {Ctx::Connect, Ctx::Will, Ctx::Connack, Ctx::Publish, Ctx::Puback,
                           Ctx::Pubrel, Ctx::Subscribe, Ctx::Suback, Ctx::Unsubscribe,
                           Ctx::Unsuback, Ctx::Disconnect, Ctx::Auth};

Bytes block(const Bytes& props) {
  Bytes out;
  append_varint(static_cast<uint32_t>(props.size()), out);
  return out + props;
}

Bytes frame(uint8_t first, const Bytes& body) {
  Bytes out{first};
  append_varint(static_cast<uint32_t>(body.size()), out);
  return out + body;
}

// A complete MQTT 5 packet of kind `ctx` whose (only) property block holds `props`.
Bytes packet_with(Ctx ctx, const Bytes& props) {
  const Bytes connect_head = bytes({0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05});
  switch (ctx) {
    case Ctx::Connect:
      return frame(0x10, connect_head + bytes({0x02, 0x00, 0x00}) + block(props) +
                             bytes({0x00, 0x01, 'c'}));
    case Ctx::Will:
      return frame(0x10, connect_head + bytes({0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 'c'}) +
                             block(props) + bytes({0x00, 0x01, 't', 0x00, 0x01, 'p'}));
    case Ctx::Connack: return frame(0x20, bytes({0x00, 0x00}) + block(props));
    case Ctx::Publish: return frame(0x30, bytes({0x00, 0x01, 't'}) + block(props) + "x");
    case Ctx::Puback: return frame(0x40, bytes({0x00, 0x01, 0x00}) + block(props));
    case Ctx::Pubrel: return frame(0x62, bytes({0x00, 0x01, 0x00}) + block(props));
    case Ctx::Subscribe:
      return frame(0x82, bytes({0x00, 0x01}) + block(props) + bytes({0x00, 0x01, 't', 0x00}));
    case Ctx::Suback: return frame(0x90, bytes({0x00, 0x01}) + block(props) + bytes({0x00}));
    case Ctx::Unsubscribe:
      return frame(0xA2, bytes({0x00, 0x01}) + block(props) + bytes({0x00, 0x01, 't'}));
    case Ctx::Unsuback: return frame(0xB0, bytes({0x00, 0x01}) + block(props) + bytes({0x00}));
    case Ctx::Disconnect: return frame(0xE0, bytes({0x00}) + block(props));
    case Ctx::Auth: return frame(0xF0, bytes({0x00}) + block(props));
  }
  return {};
}

struct PropsOf {
  const Properties& operator()(const Connect& c) const {
    return c.will ? c.will->properties : c.properties;
  }
  const Properties& operator()(const Pingreq&) const { return empty; }
  const Properties& operator()(const Pingresp&) const { return empty; }
  template <class T>
  const Properties& operator()(const T& x) const { return x.properties; }
  const Properties& empty;
};

const Properties& props_of(const Packet& p) {
  static const Properties kEmpty;
  return std::visit(PropsOf{kEmpty}, p);
}

struct Row {
  const char* name;
  int id;
  Bytes value;                         // the value's wire bytes after the identifier
  std::function<void(Properties&)> set;  // the decoded form
  std::vector<Ctx> allowed;             // MQTT 5.0, 2.2.2.2
};

const std::string_view kCorr("\x00\xFF", 2);

std::vector<Row> rows() {
  using C = Ctx;
  return {
      {"payload format indicator", 0x01, bytes({0x01}),
       [](Properties& p) { p.payload_format_indicator = 1; }, {C::Publish, C::Will}},
      {"message expiry interval", 0x02, bytes({0x00, 0x01, 0x00, 0x00}),
       [](Properties& p) { p.message_expiry_interval = 65'536; }, {C::Publish, C::Will}},
      {"content type", 0x03, bytes({0x00, 0x02, 'j', 's'}),
       [](Properties& p) { p.content_type = "js"; }, {C::Publish, C::Will}},
      {"response topic", 0x08, bytes({0x00, 0x01, 'r'}),
       [](Properties& p) { p.response_topic = "r"; }, {C::Publish, C::Will}},
      {"correlation data", 0x09, bytes({0x00, 0x02, 0x00, 0xFF}),
       [](Properties& p) { p.correlation_data = kCorr; }, {C::Publish, C::Will}},
      {"subscription identifier", 0x0B, bytes({0xFF, 0xFF, 0xFF, 0x7F}),
       [](Properties& p) { p.subscription_identifiers = {268'435'455}; },
       {C::Publish, C::Subscribe}},
      {"session expiry interval", 0x11, bytes({0xFF, 0xFF, 0xFF, 0xFF}),
       [](Properties& p) { p.session_expiry_interval = 0xFFFFFFFF; },
       {C::Connect, C::Connack, C::Disconnect}},
      {"assigned client identifier", 0x12, bytes({0x00, 0x01, 'a'}),
       [](Properties& p) { p.assigned_client_identifier = "a"; }, {C::Connack}},
      {"server keep alive", 0x13, bytes({0x00, 0x3C}),
       [](Properties& p) { p.server_keep_alive = 60; }, {C::Connack}},
      {"authentication method", 0x15, bytes({0x00, 0x01, 'm'}),
       [](Properties& p) { p.authentication_method = "m"; }, {C::Connect, C::Connack, C::Auth}},
      {"authentication data", 0x16, bytes({0x00, 0x02, 0x00, 0xFF}),
       [](Properties& p) { p.authentication_data = kCorr; }, {C::Connect, C::Connack, C::Auth}},
      {"request problem information", 0x17, bytes({0x00}),
       [](Properties& p) { p.request_problem_information = 0; }, {C::Connect}},
      {"will delay interval", 0x18, bytes({0x00, 0x00, 0x00, 0x0A}),
       [](Properties& p) { p.will_delay_interval = 10; }, {C::Will}},
      {"request response information", 0x19, bytes({0x01}),
       [](Properties& p) { p.request_response_information = 1; }, {C::Connect}},
      {"response information", 0x1A, bytes({0x00, 0x01, 'i'}),
       [](Properties& p) { p.response_information = "i"; }, {C::Connack}},
      {"server reference", 0x1C, bytes({0x00, 0x01, 's'}),
       [](Properties& p) { p.server_reference = "s"; }, {C::Connack, C::Disconnect}},
      {"reason string", 0x1F, bytes({0x00, 0x02, 0xC3, 0xA9}),
       [](Properties& p) { p.reason_string = "\xC3\xA9"; },
       {C::Connack, C::Puback, C::Pubrel, C::Suback, C::Unsuback, C::Disconnect, C::Auth}},
      {"receive maximum", 0x21, bytes({0xFF, 0xFF}),
       [](Properties& p) { p.receive_maximum = 65'535; }, {C::Connect, C::Connack}},
      {"topic alias maximum", 0x22, bytes({0x00, 0x00}),
       [](Properties& p) { p.topic_alias_maximum = 0; }, {C::Connect, C::Connack}},
      {"topic alias", 0x23, bytes({0x00, 0x02}),
       [](Properties& p) { p.topic_alias = 2; }, {C::Publish}},
      {"maximum QoS", 0x24, bytes({0x01}),
       [](Properties& p) { p.maximum_qos = 1; }, {C::Connack}},
      {"retain available", 0x25, bytes({0x00}),
       [](Properties& p) { p.retain_available = 0; }, {C::Connack}},
      {"user property", 0x26, bytes({0x00, 0x01, 'k', 0x00, 0x00}),
       [](Properties& p) { p.user_properties = {{"k", ""}}; },
       {C::Connect, C::Will, C::Connack, C::Publish, C::Puback, C::Pubrel, C::Subscribe,
        C::Suback, C::Unsubscribe, C::Unsuback, C::Disconnect, C::Auth}},
      {"maximum packet size", 0x27, bytes({0x00, 0x00, 0x10, 0x00}),
       [](Properties& p) { p.maximum_packet_size = 4096; }, {C::Connect, C::Connack}},
      {"wildcard subscription available", 0x28, bytes({0x01}),
       [](Properties& p) { p.wildcard_subscription_available = 1; }, {C::Connack}},
      {"subscription identifier available", 0x29, bytes({0x00}),
       [](Properties& p) { p.subscription_identifier_available = 0; }, {C::Connack}},
      {"shared subscription available", 0x2A, bytes({0x01}),
       [](Properties& p) { p.shared_subscription_available = 1; }, {C::Connack}},
  };
}

bool contains(const std::vector<Ctx>& set, Ctx c) {
  for (Ctx x : set) {
    if (x == c) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("every property: allowed packets decode it, other packets are a protocol error") {
  for (const Row& row : rows()) {
    const std::string_view name = row.name;
    CAPTURE(name);
    const Bytes prop = bytes({row.id}) + row.value;
    Properties expected;
    row.set(expected);
    // The writer produces exactly the identifier and value, behind a length prefix.
    Bytes written;
    append_properties(expected, written);
    CHECK(written == block(prop));
    CHECK(properties_size(expected) == prop.size());
    for (Ctx ctx : kAllCtx) {
      CAPTURE(static_cast<int>(ctx));
      const Bytes wire = packet_with(ctx, prop);  // the decoded views point into it
      auto r = decode_bytes(wire, V::V5);
      if (contains(row.allowed, ctx)) {
        REQUIRE_MESSAGE(r.ok(), std::string(r.error().context));
        CHECK(props_of(*r) == expected);
      } else {
        CHECK(r.code() == ReasonCode::MalformedPacket);
      }
    }
  }
}

TEST_CASE("every single-valued property twice is a protocol error") {
  for (const Row& row : rows()) {
    const std::string_view name = row.name;
    CAPTURE(name);
    const Bytes prop = bytes({row.id}) + row.value;
    const Ctx ctx = row.allowed.front();
    const ReasonCode twice = decode_code(packet_with(ctx, prop + prop), V::V5);
    if (row.id == 0x26 || (row.id == 0x0B && ctx == Ctx::Publish)) {
      CHECK(twice == ReasonCode::Success);
    } else {
      CHECK(twice == ReasonCode::ProtocolError);
    }
  }
}

TEST_CASE("repeatable properties keep their order") {
  const Bytes props = bytes({
      0x26, 0x00, 0x01, 'b', 0x00, 0x01, '1',  // user property b=1
      0x0B, 0x02,                              // subscription identifier 2
      0x26, 0x00, 0x01, 'a', 0x00, 0x01, '2',  // user property a=2
      0x0B, 0x01,                              // subscription identifier 1
      0x26, 0x00, 0x01, 'b', 0x00, 0x01, '3',  // user property b=3 (same key again)
  });
  const Bytes wire = packet_with(Ctx::Publish, props);  // the decoded views point into it
  const auto p = decode_as<Publish>(wire, V::V5);
  CHECK(p.properties.subscription_identifiers == std::vector<uint32_t>{2, 1});
  REQUIRE(p.properties.user_properties.size() == 3);
  CHECK(p.properties.user_properties[0] == UserProperty{"b", "1"});
  CHECK(p.properties.user_properties[1] == UserProperty{"a", "2"});
  CHECK(p.properties.user_properties[2] == UserProperty{"b", "3"});
  // SUBSCRIBE may carry only one subscription identifier (3.8.2.1.2).
  CHECK(decode_code(packet_with(Ctx::Subscribe, bytes({0x0B, 0x01, 0x0B, 0x02})), V::V5) ==
        ReasonCode::ProtocolError);
}

TEST_CASE("property values out of range") {
  struct Case {
    const char* name;
    Ctx ctx;
    Bytes prop;
  };
  const Case cases[] = {
      {"payload format indicator 2", Ctx::Publish, bytes({0x01, 0x02})},
      {"payload format indicator 255 in will", Ctx::Will, bytes({0x01, 0xFF})},
      {"request problem information 2", Ctx::Connect, bytes({0x17, 0x02})},
      {"request response information 2", Ctx::Connect, bytes({0x19, 0x02})},
      {"maximum QoS 2", Ctx::Connack, bytes({0x24, 0x02})},
      {"retain available 2", Ctx::Connack, bytes({0x25, 0x02})},
      {"wildcard subscription available 2", Ctx::Connack, bytes({0x28, 0x02})},
      {"subscription identifier available 2", Ctx::Connack, bytes({0x29, 0x02})},
      {"shared subscription available 2", Ctx::Connack, bytes({0x2A, 0x02})},
      {"receive maximum 0 in CONNECT", Ctx::Connect, bytes({0x21, 0x00, 0x00})},
      {"receive maximum 0 in CONNACK", Ctx::Connack, bytes({0x21, 0x00, 0x00})},
      {"maximum packet size 0", Ctx::Connect, bytes({0x27, 0x00, 0x00, 0x00, 0x00})},
      {"subscription identifier 0 in SUBSCRIBE", Ctx::Subscribe, bytes({0x0B, 0x00})},
      {"subscription identifier 0 in PUBLISH", Ctx::Publish, bytes({0x0B, 0x00})},
  };
  for (const Case& c : cases) {
    const std::string_view name = c.name;
    CAPTURE(name);
    CHECK(decode_code(packet_with(c.ctx, c.prop), V::V5) == ReasonCode::ProtocolError);
  }
}

TEST_CASE("malformed property blocks") {
  struct Case {
    const char* name;
    Ctx ctx;
    Bytes prop;
  };
  const Case cases[] = {
      {"unknown identifier 0x00", Ctx::Publish, bytes({0x00, 0x00})},
      {"unknown identifier 0x04", Ctx::Publish, bytes({0x04, 0x00})},
      {"unknown identifier 0x2B", Ctx::Connack, bytes({0x2B, 0x00})},
      {"unknown identifier 0x7F", Ctx::Connack, bytes({0x7F, 0x00})},
      {"multi-byte identifier", Ctx::Connack, bytes({0xA6, 0x01})},
      {"non-minimal identifier", Ctx::Publish, bytes({0x81, 0x00, 0x00})},
      {"truncated identifier varint", Ctx::Publish, bytes({0x80})},
      {"truncated byte", Ctx::Publish, bytes({0x01})},
      {"truncated two-byte integer", Ctx::Publish, bytes({0x23, 0x00})},
      {"truncated four-byte integer", Ctx::Publish, bytes({0x02, 0x00, 0x00, 0x00})},
      {"truncated string length", Ctx::Publish, bytes({0x03, 0x00})},
      {"truncated string", Ctx::Publish, bytes({0x03, 0x00, 0x05, 'a', 'b'})},
      {"truncated binary", Ctx::Publish, bytes({0x09, 0x00, 0x02, 0x00})},
      {"truncated user property value", Ctx::Publish, bytes({0x26, 0x00, 0x01, 'k', 0x00})},
      {"truncated subscription identifier", Ctx::Subscribe, bytes({0x0B, 0x80})},
      {"subscription identifier of 5 bytes", Ctx::Publish,
       bytes({0x0B, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})},
      {"content type with invalid UTF-8", Ctx::Publish, bytes({0x03, 0x00, 0x01, 0xFF})},
      {"response topic with U+0000", Ctx::Will, bytes({0x08, 0x00, 0x01, 0x00})},
      {"reason string with a surrogate", Ctx::Puback, bytes({0x1F, 0x00, 0x03, 0xED, 0xA0, 0x80})},
      {"user property key invalid", Ctx::Connect, bytes({0x26, 0x00, 0x01, 0xC0, 0x00, 0x00})},
      {"user property value invalid", Ctx::Connect, bytes({0x26, 0x00, 0x00, 0x00, 0x01, 0x80})},
      {"assigned client id invalid", Ctx::Connack, bytes({0x12, 0x00, 0x01, 0xFE})},
      {"authentication method invalid", Ctx::Auth, bytes({0x15, 0x00, 0x01, 0xFE})},
      {"response information invalid", Ctx::Connack, bytes({0x1A, 0x00, 0x01, 0xFE})},
      {"server reference invalid", Ctx::Disconnect, bytes({0x1C, 0x00, 0x01, 0xFE})},
  };
  for (const Case& c : cases) {
    const std::string_view name = c.name;
    CAPTURE(name);
    CHECK(decode_code(packet_with(c.ctx, c.prop), V::V5) == ReasonCode::MalformedPacket);
  }
}

TEST_CASE("property length longer than the packet is malformed") {
  // DISCONNECT: reason 0x00, property length 5 but only 3 bytes follow.
  CHECK(decode_code(bytes({0xE0, 0x05, 0x00, 0x05, 0x1F, 0x00, 0x00}), V::V5) ==
        ReasonCode::MalformedPacket);
  // PUBLISH: property length 0x7F, packet ends after 2 bytes of payload.
  CHECK(decode_code(bytes({0x30, 0x06, 0x00, 0x01, 't', 0x7F, 'a', 'b'}), V::V5) ==
        ReasonCode::MalformedPacket);
  // PUBLISH: property length missing entirely.
  CHECK(decode_code(bytes({0x30, 0x03, 0x00, 0x01, 't'}), V::V5) == ReasonCode::MalformedPacket);
  // Property length varint of 5 bytes.
  CHECK(decode_code(bytes({0x30, 0x08, 0x00, 0x01, 't', 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), V::V5) ==
        ReasonCode::MalformedPacket);
}

TEST_CASE("all properties together round-trip and are written in identifier order") {
  Properties p;
  for (const Row& row : rows()) row.set(p);
  Bytes expected;
  for (const Row& row : rows()) expected = expected + bytes({row.id}) + row.value;
  Bytes written;
  append_properties(p, written);
  CHECK(written == block(expected));
  CHECK(properties_size(p) == expected.size());
  CHECK(properties_size(Properties{}) == 0);
  Bytes empty;
  append_properties(Properties{}, empty);
  CHECK(empty == bytes({0x00}));
}
