// hydrant-loadgen: the few MQTT 3.1.1 / 5.0 packets the load generator speaks, encoded by hand,
// and framers that cut a byte stream (arriving in arbitrary pieces) into whole packets.
// Deliberately independent of broker/codec so that the benchmark does not trust the code it
// measures.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace loadgen::wire {

enum : uint8_t {
  kConnect = 1, kConnack = 2, kPublish = 3, kPuback = 4, kPubrec = 5, kPubrel = 6,
  kPubcomp = 7, kSubscribe = 8, kSuback = 9, kPingreq = 12, kPingresp = 13, kDisconnect = 14,
};

using Buf = std::string;  // outgoing bytes are appended to a per-connection string

inline void put_u8(Buf& b, uint8_t v) { b.push_back(static_cast<char>(v)); }
inline void put_u16(Buf& b, uint16_t v) {
  put_u8(b, static_cast<uint8_t>(v >> 8));
  put_u8(b, static_cast<uint8_t>(v & 0xff));
}
inline void put_varint(Buf& b, uint32_t v) {
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    if (v) byte |= 0x80;
    put_u8(b, byte);
  } while (v);
}
inline size_t varint_size(uint32_t v) { return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4; }
inline void put_str(Buf& b, std::string_view s) {
  put_u16(b, static_cast<uint16_t>(s.size()));
  b.append(s);
}

// CONNECT with clean session/start, no will, no credentials. version: 4 = 3.1.1, 5 = 5.0.
inline void connect(Buf& b, int version, std::string_view client_id, uint16_t keepalive) {
  const bool v5 = version == 5;
  const uint32_t rl = 2 + 4 + 1 + 1 + 2 + (v5 ? 1 : 0) + 2 + static_cast<uint32_t>(client_id.size());
  put_u8(b, kConnect << 4);
  put_varint(b, rl);
  put_str(b, "MQTT");
  put_u8(b, static_cast<uint8_t>(version));
  put_u8(b, 0x02);  // clean session / clean start
  put_u16(b, keepalive);
  if (v5) put_u8(b, 0);  // no properties
  put_str(b, client_id);
}

inline void subscribe(Buf& b, int version, uint16_t packet_id, std::string_view filter, int qos) {
  const bool v5 = version == 5;
  const uint32_t rl = 2 + (v5 ? 1 : 0) + 2 + static_cast<uint32_t>(filter.size()) + 1;
  put_u8(b, (kSubscribe << 4) | 0x02);
  put_varint(b, rl);
  put_u16(b, packet_id);
  if (v5) put_u8(b, 0);
  put_str(b, filter);
  put_u8(b, static_cast<uint8_t>(qos));
}

inline void publish(Buf& b, int version, std::string_view topic, int qos, uint16_t packet_id,
                    std::string_view payload) {
  const bool v5 = version == 5;
  const uint32_t rl = 2 + static_cast<uint32_t>(topic.size()) + (qos ? 2 : 0) + (v5 ? 1 : 0) +
                      static_cast<uint32_t>(payload.size());
  put_u8(b, static_cast<uint8_t>((kPublish << 4) | (qos << 1)));
  put_varint(b, rl);
  put_str(b, topic);
  if (qos) put_u16(b, packet_id);
  if (v5) put_u8(b, 0);
  b.append(payload);
}

// PUBACK (and, with type, PUBREC/PUBREL/PUBCOMP): the two-byte form, success in both versions.
inline void ack(Buf& b, uint8_t type, uint16_t packet_id) {
  put_u8(b, static_cast<uint8_t>((type << 4) | (type == kPubrel ? 0x02 : 0)));
  put_u8(b, 2);
  put_u16(b, packet_id);
}
inline void pingreq(Buf& b) { put_u8(b, kPingreq << 4); put_u8(b, 0); }
inline void disconnect(Buf& b) { put_u8(b, kDisconnect << 4); put_u8(b, 0); }

// One whole packet: first byte's type/flags and the bytes after the fixed header.
struct Packet {
  uint8_t type = 0;
  uint8_t flags = 0;
  std::string_view body;
};

// Decodes the variable byte integer at p[0..n). Returns bytes used, 0 if incomplete, -1 if bad.
inline int get_varint(const uint8_t* p, size_t n, uint32_t& out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    if (static_cast<size_t>(i) >= n) return 0;
    v |= static_cast<uint32_t>(p[i] & 0x7f) << (7 * i);
    if (!(p[i] & 0x80)) { out = v; return i + 1; }
  }
  return -1;
}
inline uint16_t get_u16(const char* p) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}

// Cuts the next whole packet off the front of `avail` (bytes as they arrived, in pieces of any
// size). Returns the bytes it takes, 0 if the packet is not complete yet, -1 if malformed.
inline long cut(std::string_view avail, Packet& out) {
  if (avail.size() < 2) return 0;
  const auto* p = reinterpret_cast<const uint8_t*>(avail.data());
  uint32_t rl = 0;
  const int used = get_varint(p + 1, avail.size() - 1, rl);
  if (used <= 0) return used;
  const size_t total = 1 + static_cast<size_t>(used) + rl;
  if (avail.size() < total) return 0;
  out.type = p[0] >> 4;
  out.flags = p[0] & 0x0f;
  out.body = avail.substr(1 + static_cast<size_t>(used), rl);
  return static_cast<long>(total);
}

// Cuts whole packets out of a stream that arrives as a sequence of pieces (the payloads of
// WebSocket frames, cut anywhere). A packet lying whole inside a piece is handed on as a view of
// that piece, without a copy; only a packet spanning pieces is gathered in `pending_`.
class Reassembler {
 public:
  // Calls on_packet(const Packet&) -> bool (false = stop) for each whole packet; its views live
  // until on_packet returns. Returns 1, 0 when stopped, -1 on a malformed packet.
  template <class OnPacket>
  int feed(std::string_view piece, OnPacket&& on_packet) {
    Packet pk;
    if (!pending_.empty()) {
      long used = 0;
      while ((used = cut(pending_, pk)) == 0 && !piece.empty()) {
        // Take exactly what the pending packet lacks, a byte at a time while its length is
        // still unknown (at most the 4 bytes of the remaining-length varint).
        const long total = size_of(pending_);
        if (total < 0) return -1;
        const size_t need = total > 0 ? static_cast<size_t>(total) - pending_.size() : 1;
        const size_t take = std::min(need, piece.size());
        pending_.append(piece.substr(0, take));
        piece.remove_prefix(take);
      }
      if (used < 0) return -1;
      if (used == 0) return 1;  // the piece is used up and the packet still incomplete
      const bool go_on = on_packet(pk);
      pending_.clear();
      if (!go_on) return 0;
    }
    for (;;) {
      const long used = cut(piece, pk);
      if (used < 0) return -1;
      if (used == 0) break;
      if (!on_packet(pk)) return 0;
      piece.remove_prefix(static_cast<size_t>(used));
    }
    pending_.assign(piece);
    return 1;
  }

  // Bytes of the packet starting `avail`: 0 while its fixed header is incomplete, -1 if malformed.
  static long size_of(std::string_view avail) {
    if (avail.size() < 2) return 0;
    uint32_t rl = 0;
    const int used = get_varint(reinterpret_cast<const uint8_t*>(avail.data()) + 1, avail.size() - 1, rl);
    return used <= 0 ? used : static_cast<long>(1 + static_cast<size_t>(used) + rl);
  }

 private:
  std::string pending_;
};

// The parts of an incoming PUBLISH the load generator needs.
struct Publish {
  int qos = 0;
  uint16_t packet_id = 0;
  std::string_view topic;
  std::string_view payload;
};
inline bool parse_publish(const Packet& pk, int version, Publish& out) {
  const auto& b = pk.body;
  out.qos = (pk.flags >> 1) & 3;
  if (b.size() < 2) return false;
  const size_t tl = get_u16(b.data());
  size_t pos = 2 + tl;
  if (b.size() < pos) return false;
  out.topic = b.substr(2, tl);
  if (out.qos) {
    if (b.size() < pos + 2) return false;
    out.packet_id = get_u16(b.data() + pos);
    pos += 2;
  }
  if (version == 5) {
    uint32_t plen = 0;
    const int used = get_varint(reinterpret_cast<const uint8_t*>(b.data() + pos), b.size() - pos, plen);
    if (used <= 0 || b.size() < pos + used + plen) return false;
    pos += used + plen;
  }
  out.payload = b.substr(pos);
  return true;
}

// CONNACK: returns the return/reason code (0 = accepted) or -1 if malformed; for 5.0 also
// reports the server's Receive Maximum (property 0x21), 65535 when absent.
inline int parse_connack(const Packet& pk, int version, uint32_t& receive_maximum) {
  receive_maximum = 65535;
  const auto& b = pk.body;
  if (b.size() < 2) return -1;
  const int code = static_cast<uint8_t>(b[1]);
  if (version != 5) return code;
  uint32_t plen = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(b.data());
  const int used = get_varint(p + 2, b.size() - 2, plen);
  if (used <= 0 || b.size() < 2 + used + plen) return -1;
  size_t pos = 2 + used;
  const size_t end = pos + plen;
  while (pos < end) {  // walk the properties; only a few kinds appear in a CONNACK
    const uint8_t id = p[pos++];
    switch (id) {
      case 0x21: case 0x22: case 0x13:  // two-byte integers
        if (id == 0x21 && pos + 2 <= end) receive_maximum = get_u16(b.data() + pos);
        pos += 2; break;
      case 0x11: case 0x27: pos += 4; break;                                   // four-byte
      case 0x24: case 0x25: case 0x28: case 0x29: case 0x2a: pos += 1; break;  // byte
      case 0x12: case 0x1a: case 0x1c: case 0x1f: case 0x15: case 0x16:        // string/binary
        if (pos + 2 > end) return code;
        pos += 2 + get_u16(b.data() + pos); break;
      case 0x26:  // user property: two strings
        for (int k = 0; k < 2 && pos + 2 <= end; ++k) pos += 2 + get_u16(b.data() + pos);
        break;
      default: return code;  // unknown: stop reading properties, keep the code
    }
  }
  return code;
}

}  // namespace loadgen::wire
