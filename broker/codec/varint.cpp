// Variable Byte Integers, big-endian integers, length-prefixed strings, and parse_frame(): the
// fixed header that delimits one packet in a byte stream (MQTT 5.0 1.5 and 2.1). Does not look at
// the packet's body; decode() does that.
#include <cassert>

#include "codec/codec.hpp"
#include "codec/wire.hpp"

namespace hydrant::codec {

namespace detail {

VarintStatus read_varint(const uint8_t* p, size_t n, uint32_t& value, uint32_t& used) {
  uint32_t v = 0;
  for (uint32_t i = 0; i < 4; ++i) {
    if (i == n) return VarintStatus::Incomplete;
    const uint8_t b = p[i];
    v |= uint32_t{b & 0x7Fu} << (7 * i);
    if ((b & 0x80) == 0) {
      // A zero final byte after the first adds nothing: a longer-than-needed encoding, which
      // [MQTT-1.5.5-1] forbids.
      if (i > 0 && b == 0) return VarintStatus::Malformed;
      value = v;
      used = i + 1;
      return VarintStatus::Ok;
    }
  }
  return VarintStatus::Malformed;  // continuation bit on the 4th byte: a 5th would follow
}

}  // namespace detail

uint32_t write_varint(uint32_t value, uint8_t* out) {
  assert(value <= kMaxVarint);
  uint32_t n = 0;
  do {
    uint8_t b = value & 0x7F;
    value >>= 7;
    if (value != 0) b |= 0x80;
    out[n++] = b;
  } while (value != 0);
  return n;
}

void append_varint(uint32_t value, Bytes& out) {
  uint8_t buf[4];
  const uint32_t n = write_varint(value, buf);
  out.insert(out.end(), buf, buf + n);
}

void append_u16(uint16_t value, Bytes& out) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}

void append_u32(uint32_t value, Bytes& out) {
  out.push_back(static_cast<uint8_t>(value >> 24));
  out.push_back(static_cast<uint8_t>(value >> 16));
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}

void append_string(std::string_view s, Bytes& out) {
  assert(s.size() <= 0xFFFF);  // callers bound their strings; the wire length is 16 bits
  append_u16(static_cast<uint16_t>(s.size()), out);
  out.insert(out.end(), s.begin(), s.end());
}

Result<std::optional<Frame>> parse_frame(ByteView stream, uint32_t max_packet_size) {
  if (stream.empty()) return std::optional<Frame>{};
  Frame f;
  f.first_byte = stream[0];
  // Type 0 is reserved/forbidden in every version (MQTT 5.0 2.1.2).
  if (f.type() == PacketType{0}) return Error{ReasonCode::MalformedPacket, "packet type 0"};
  uint32_t used = 0;
  switch (detail::read_varint(stream.data() + 1, stream.size() - 1, f.remaining_length, used)) {
    case detail::VarintStatus::Incomplete: return std::optional<Frame>{};
    case detail::VarintStatus::Malformed:
      return Error{ReasonCode::MalformedPacket, "bad remaining length"};
    case detail::VarintStatus::Ok: break;
  }
  f.header_size = 1 + used;
  // Compare in 64 bits: header_size + remaining_length cannot overflow, but be explicit.
  if (uint64_t{f.header_size} + f.remaining_length > max_packet_size) {
    return Error{ReasonCode::PacketTooLarge, "packet exceeds maximum packet size"};
  }
  return std::optional<Frame>{f};
}

}  // namespace hydrant::codec
