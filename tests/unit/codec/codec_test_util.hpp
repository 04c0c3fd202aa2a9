// Helpers shared by the codec unit tests: encode with the encoded_size() cross-check, decode
// expecting success or a given reason code, and the byte-exact round trip of async_mqtt's
// ut_packet_* tests (struct → annotated bytes → struct).
#pragma once

#include <doctest.h>

#include <initializer_list>
#include <string>

#include "codec/codec.hpp"

namespace hydrant::codec::test {

using V = ProtocolVersion;

inline Bytes bytes(std::initializer_list<int> b) {
  Bytes out;
  for (int x : b) out.push_back(static_cast<uint8_t>(x));
  return out;
}

// Appends the raw bytes of a string (for payloads and long fields in expected arrays).
inline Bytes operator+(Bytes a, std::string_view s) {
  a.insert(a.end(), s.begin(), s.end());
  return a;
}
inline Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

inline Bytes encode_checked(const Packet& p, V v) {
  Bytes out;
  encode(p, v, out);
  CHECK(out.size() == encoded_size(p, v));
  return out;
}

inline Result<Packet> decode_bytes(const Bytes& b, V v) { return decode(ByteView(b), v); }

// The reason code decode() yields (Success when it decodes).
inline ReasonCode decode_code(const Bytes& b, V v) { return decode_bytes(b, v).code(); }

// Encodes `p`, compares with `wire`, decodes `wire` and compares with `p`; also checks that
// parse_frame() delimits exactly `wire`.
template <class T>
void check_round_trip(const T& p, V v, const Bytes& wire) {
  const Bytes out = encode_checked(Packet{p}, v);
  CHECK(out == wire);
  auto frame = parse_frame(ByteView(wire), 1u << 20);
  REQUIRE(frame.ok());
  REQUIRE(frame->has_value());
  CHECK((*frame)->total_size() == wire.size());
  auto back = decode_bytes(wire, v);
  REQUIRE_MESSAGE(back.ok(), "decode failed: ", back.error().context);
  REQUIRE(std::holds_alternative<T>(*back));
  CHECK(std::get<T>(*back) == p);
  CHECK(packet_type(*back) == packet_type(Packet{p}));
}

// The result's views point into `b`: keep `b` alive as long as the packet (a temporary lives only
// to the end of the full expression).
template <class T>
T decode_as(const Bytes& b, V v) {
  auto r = decode_bytes(b, v);
  REQUIRE_MESSAGE(r.ok(), "decode failed: ", r.error().context);
  REQUIRE(std::holds_alternative<T>(*r));
  return std::get<T>(*r);
}

}  // namespace hydrant::codec::test
