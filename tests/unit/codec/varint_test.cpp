// Variable Byte Integers, the integer/string appenders and parse_frame() (MQTT 5.0 1.5.5, 2.1).
#include "codec_test_util.hpp"

using namespace hydrant;
using namespace hydrant::codec;
using namespace hydrant::codec::test;

TEST_CASE("varint: size and encoding at every length boundary (MQTT 5.0 1.5.5)") {
  struct Case {
    uint32_t value;
    Bytes wire;
  };
  const Case cases[] = {
      {0, bytes({0x00})},
      {127, bytes({0x7F})},
      {128, bytes({0x80, 0x01})},
      {16'383, bytes({0xFF, 0x7F})},
      {16'384, bytes({0x80, 0x80, 0x01})},
      {2'097'151, bytes({0xFF, 0xFF, 0x7F})},
      {2'097'152, bytes({0x80, 0x80, 0x80, 0x01})},
      {268'435'455, bytes({0xFF, 0xFF, 0xFF, 0x7F})},
  };
  for (const Case& c : cases) {
    CAPTURE(c.value);
    CHECK(varint_size(c.value) == c.wire.size());
    uint8_t buf[4] = {};
    CHECK(write_varint(c.value, buf) == c.wire.size());
    CHECK(Bytes(buf, buf + c.wire.size()) == c.wire);
    Bytes out{0xAA};
    append_varint(c.value, out);
    CHECK(out == bytes({0xAA}) + c.wire);
    // The same bytes as a Remaining Length decode back to the value.
    Bytes frame = bytes({0xC0}) + c.wire;
    auto f = parse_frame(ByteView(frame), kMaxRemainingLength + 5);
    REQUIRE(f.ok());
    REQUIRE(f->has_value());
    CHECK((*f)->remaining_length == c.value);
    CHECK((*f)->header_size == 1 + c.wire.size());
  }
}

TEST_CASE("append_u16, append_u32, append_string are big-endian with a 2-byte length") {
  Bytes out;
  append_u16(0x1234, out);
  append_u32(0xDEADBEEF, out);
  append_string("ab", out);
  append_string("", out);
  CHECK(out == bytes({0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x02, 'a', 'b', 0x00, 0x00}));
}

TEST_CASE("parse_frame") {
  SUBCASE("empty stream needs more bytes") {
    Bytes b;
    auto f = parse_frame(ByteView(b), 1000);
    REQUIRE(f.ok());
    CHECK_FALSE(f->has_value());
  }
  SUBCASE("first byte only needs more bytes") {
    Bytes b = bytes({0x30});
    auto f = parse_frame(ByteView(b), 1000);
    REQUIRE(f.ok());
    CHECK_FALSE(f->has_value());
  }
  SUBCASE("partial remaining length needs more bytes") {
    Bytes b = bytes({0x30, 0x80, 0x80});
    auto f = parse_frame(ByteView(b), 1u << 30);
    REQUIRE(f.ok());
    CHECK_FALSE(f->has_value());
  }
  SUBCASE("header complete, body still arriving") {
    Bytes b = bytes({0x30, 0x0A, 0x00});
    auto f = parse_frame(ByteView(b), 1000);
    REQUIRE(f.ok());
    REQUIRE(f->has_value());
    CHECK((*f)->type() == PacketType::Publish);
    CHECK((*f)->first_byte == 0x30);
    CHECK((*f)->remaining_length == 10);
    CHECK((*f)->header_size == 2);
    CHECK((*f)->total_size() == 12);
  }
  SUBCASE("two packets back to back: the first one is delimited") {
    Bytes b = bytes({0xC0, 0x00, 0xD0, 0x00});
    auto f = parse_frame(ByteView(b), 1000);
    REQUIRE(f.ok());
    REQUIRE(f->has_value());
    CHECK((*f)->type() == PacketType::Pingreq);
    CHECK((*f)->total_size() == 2);
  }
  SUBCASE("fifth remaining-length byte is malformed, even before it arrives") {
    Bytes b = bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF});
    CHECK(parse_frame(ByteView(b), UINT32_MAX).code() == ReasonCode::MalformedPacket);
    b.push_back(0x01);
    CHECK(parse_frame(ByteView(b), UINT32_MAX).code() == ReasonCode::MalformedPacket);
  }
  SUBCASE("non-minimal remaining length is malformed [MQTT-1.5.5-1]") {
    Bytes b = bytes({0x30, 0x80, 0x00});
    CHECK(parse_frame(ByteView(b), UINT32_MAX).code() == ReasonCode::MalformedPacket);
  }
  SUBCASE("packet type 0 is malformed") {
    Bytes b = bytes({0x00});
    CHECK(parse_frame(ByteView(b), 1000).code() == ReasonCode::MalformedPacket);
    b = bytes({0x00, 0x00});
    CHECK(parse_frame(ByteView(b), 1000).code() == ReasonCode::MalformedPacket);
  }
  SUBCASE("total size above the maximum packet size is too large") {
    Bytes b = bytes({0x30, 0x0A});  // total 12
    CHECK(parse_frame(ByteView(b), 11).code() == ReasonCode::PacketTooLarge);
    auto ok = parse_frame(ByteView(b), 12);
    REQUIRE(ok.ok());
    CHECK(ok->has_value());
    Bytes big = bytes({0x30, 0xFF, 0xFF, 0xFF, 0x7F});
    CHECK(parse_frame(ByteView(big), 1000).code() == ReasonCode::PacketTooLarge);
  }
}
