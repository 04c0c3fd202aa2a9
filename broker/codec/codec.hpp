// The MQTT codec: bytes <-> packets, pure. No sockets, sessions, logging or global state.
//
// Reading is two steps. parse_frame() finds one packet's extent in a byte stream (fixed header and
// Remaining Length) without copying; decode() turns one complete packet's bytes into a Packet whose
// string fields are views into those bytes. Every malformed input yields an Error carrying the
// precise MQTT 5 reason code (0x81 Malformed Packet, 0x82 Protocol Error, 0x84 Unsupported
// Protocol Version, 0x95 Packet Too Large ...); decode never reads past the span it is given.
//
// Writing appends a packet's wire form to a byte vector. The fan-out path builds PUBLISH packets
// from pieces (see fanout/) using the lower-level helpers at the bottom.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "codec/packet.hpp"
#include "base/result.hpp"

namespace hydrant::codec {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline constexpr uint32_t kMaxRemainingLength = 268'435'455;  // 4-byte Variable Byte Integer
inline constexpr uint32_t kMaxVarint = kMaxRemainingLength;

struct Frame {
  uint8_t first_byte = 0;         // packet type (high nibble) and flags (low nibble)
  uint32_t remaining_length = 0;  // bytes after the fixed header
  uint32_t header_size = 0;       // 2..5: first byte plus the Remaining Length varint
  uint32_t total_size() const { return header_size + remaining_length; }
  PacketType type() const { return static_cast<PacketType>(first_byte >> 4); }
};

// Finds the first packet in `stream`. Returns std::nullopt while more bytes are needed, a Frame
// once its fixed header is complete (the body may still be arriving: check total_size() against
// what you hold), or an Error: MalformedPacket for a Remaining Length longer than 4 bytes or a
// packet type of 0, PacketTooLarge when total_size() exceeds `max_packet_size`.
Result<std::optional<Frame>> parse_frame(ByteView stream, uint32_t max_packet_size);

// Decodes one complete packet (fixed header included; `packet.size()` must equal the frame's
// total_size()). `version` is the connection's negotiated version; a CONNECT carries its own and
// ignores it. Validates flags, lengths, UTF-8 strings [MQTT-1.5.4-1..3], property sets per packet
// type, and the packet-level rules the spec puts on the receiver of each packet.
Result<Packet> decode(ByteView packet, ProtocolVersion version);

// The protocol version a CONNECT packet (fixed header included) asks for, read from its
// protocol name and level alone, or nullopt. Lets the server answer a CONNECT it cannot decode
// with a CONNACK in the client's own version.
std::optional<ProtocolVersion> peek_connect_version(ByteView packet);

// Appends the wire form of `packet` for `version`. MQTT 5 only fields are omitted for 3.1/3.1.1.
// A CONNECT is written in its own protocol_version (as decode() reads it), whatever `version`
// says. AUTH does not exist before MQTT 5: for 3.1/3.1.1 nothing is appended (encoded_size 0).
void encode(const Packet& packet, ProtocolVersion version, Bytes& out);

// Size encode() would produce, so that a sender can honour a peer's Maximum Packet Size.
uint32_t encoded_size(const Packet& packet, ProtocolVersion version);

// ---- building blocks (also used by fanout/ to assemble shared PUBLISH bodies) ----

// Number of bytes of the Variable Byte Integer encoding of `value` (1..4); value <= kMaxVarint.
constexpr uint32_t varint_size(uint32_t value) {
  return value < 128 ? 1 : value < 16'384 ? 2 : value < 2'097'152 ? 3 : 4;
}
// Writes the Variable Byte Integer encoding of `value` to `out`; returns the bytes written.
uint32_t write_varint(uint32_t value, uint8_t* out);
void append_varint(uint32_t value, Bytes& out);
void append_u16(uint16_t value, Bytes& out);
void append_u32(uint32_t value, Bytes& out);
void append_string(std::string_view s, Bytes& out);  // 2-byte length prefix + bytes

// Properties: the size of the property block *without* its length prefix, and the appending of
// the block *with* its Variable Byte Integer length prefix.
uint32_t properties_size(const Properties& props);
void append_properties(const Properties& props, Bytes& out);

}  // namespace hydrant::codec
