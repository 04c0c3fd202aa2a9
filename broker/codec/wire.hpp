// Codec internals shared by the decode_*.cpp and encode/properties files; not part of the codec's
// API (nothing outside broker/codec/ includes it).
//
// Reader is a bounds-checked cursor over one packet's bytes: every read either succeeds or
// returns false and leaves the cursor where it was, so the callers never index a raw pointer.
// The two sinks let one template describe a packet's wire form once and be used both to count
// its bytes (encoded_size) and to append them (encode), so the two can never disagree.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "codec/codec.hpp"

namespace hydrant::codec::detail {

// Result of reading a Variable Byte Integer from a possibly incomplete buffer.
enum class VarintStatus : uint8_t { Ok, Incomplete, Malformed };

// Reads a Variable Byte Integer [MQTT-1.5.5] from p[0..n). On Ok sets `value` and `used` (1..4).
// Malformed: a 4th byte with the continuation bit set, or a non-minimal encoding (a trailing
// zero byte after the first) [MQTT-1.5.5-1].
VarintStatus read_varint(const uint8_t* p, size_t n, uint32_t& value, uint32_t& used);

class Reader {
 public:
  explicit Reader(ByteView bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool empty() const { return p_ == end_; }

  bool u8(uint8_t& v) {
    if (remaining() < 1) return false;
    v = *p_++;
    return true;
  }
  bool u16(uint16_t& v) {
    if (remaining() < 2) return false;
    v = static_cast<uint16_t>((p_[0] << 8) | p_[1]);
    p_ += 2;
    return true;
  }
  bool u32(uint32_t& v) {
    if (remaining() < 4) return false;
    v = (uint32_t{p_[0]} << 24) | (uint32_t{p_[1]} << 16) | (uint32_t{p_[2]} << 8) | p_[3];
    p_ += 4;
    return true;
  }
  bool varint(uint32_t& v) {
    uint32_t used = 0;
    if (read_varint(p_, remaining(), v, used) != VarintStatus::Ok) return false;
    p_ += used;
    return true;
  }
  // A 2-byte length followed by that many bytes (UTF-8 string or Binary Data); no validation.
  bool string(std::string_view& s) {
    uint16_t len = 0;
    if (remaining() < 2) return false;
    len = static_cast<uint16_t>((p_[0] << 8) | p_[1]);
    if (remaining() - 2 < len) return false;
    s = std::string_view(reinterpret_cast<const char*>(p_ + 2), len);
    p_ += 2 + len;
    return true;
  }
  // The next `n` bytes as a view of their own.
  bool take(size_t n, ByteView& out) {
    if (remaining() < n) return false;
    out = ByteView(p_, n);
    p_ += n;
    return true;
  }
  // Everything that is left.
  std::string_view rest() {
    std::string_view s(reinterpret_cast<const char*>(p_), remaining());
    p_ = end_;
    return s;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

inline Error malformed(const char* why) { return Error{ReasonCode::MalformedPacket, why}; }
inline Error protocol_error(const char* why) { return Error{ReasonCode::ProtocolError, why}; }

constexpr bool is_one_of(uint8_t v, std::initializer_list<uint8_t> set) {
  for (uint8_t x : set) {
    if (x == v) return true;
  }
  return false;
}

// Reads a UTF-8 Encoded String and checks it [MQTT-1.5.4-1, MQTT-1.5.4-2]: MalformedPacket if it
// is truncated or not well-formed.
Result<void> read_utf8(Reader& r, std::string_view& out);
// Reads Binary Data (2-byte length + bytes): MalformedPacket if truncated.
Result<void> read_binary(Reader& r, std::string_view& out);

// Where a property block sits; each property identifier is allowed in some of these
// (MQTT 5.0, 2.2.2.2).
enum PropContext : uint16_t {
  kInConnect = 1u << 0,
  kInConnack = 1u << 1,
  kInPublish = 1u << 2,
  kInWill = 1u << 3,
  kInPubAck = 1u << 4,  // PUBACK, PUBREC, PUBREL, PUBCOMP
  kInSubscribe = 1u << 5,
  kInSuback = 1u << 6,
  kInUnsubscribe = 1u << 7,
  kInUnsuback = 1u << 8,
  kInDisconnect = 1u << 9,
  kInAuth = 1u << 10,
};

// Reads a property block (Variable Byte Integer length + properties) for `ctx` into `out`.
Result<void> read_properties(Reader& r, PropContext ctx, Properties& out);

// Packet decoders, one per packet family. `flags` is the fixed header's low nibble, `body` the
// bytes after the fixed header. Each checks that it consumed the whole body.
Result<Packet> decode_connect(uint8_t flags, ByteView body);
Result<Packet> decode_connack(uint8_t flags, ByteView body, ProtocolVersion v);
Result<Packet> decode_subscribe(uint8_t flags, ByteView body, ProtocolVersion v);
Result<Packet> decode_suback(uint8_t flags, ByteView body, ProtocolVersion v);
Result<Packet> decode_unsubscribe(uint8_t flags, ByteView body, ProtocolVersion v);
Result<Packet> decode_unsuback(uint8_t flags, ByteView body, ProtocolVersion v);

// Counts bytes instead of writing them (encoded_size).
struct SizeSink {
  uint32_t n = 0;
  void u8(uint8_t) { n += 1; }
  void u16(uint16_t) { n += 2; }
  void u32(uint32_t) { n += 4; }
  void varint(uint32_t v) { n += varint_size(v); }
  void str(std::string_view s) { n += 2 + static_cast<uint32_t>(s.size()); }
  void raw(std::string_view s) { n += static_cast<uint32_t>(s.size()); }
  void props(const Properties& p) {
    const uint32_t size = properties_size(p);
    n += varint_size(size) + size;
  }
};

// Appends to a byte vector (encode).
struct ByteSink {
  Bytes& out;
  void u8(uint8_t v) { out.push_back(v); }
  void u16(uint16_t v) { append_u16(v, out); }
  void u32(uint32_t v) { append_u32(v, out); }
  void varint(uint32_t v) { append_varint(v, out); }
  void str(std::string_view s) { append_string(s, out); }
  void raw(std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }
  void props(const Properties& p) { append_properties(p, out); }
};

}  // namespace hydrant::codec::detail
