// WebSocket framing for the load generator (RFC 6455): the upgrade request, masked binary frames
// out, and server frames in, unwrapped into the MQTT byte stream. Pure functions on strings.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace loadgen::ws {

inline std::string upgrade_request(std::string_view path, int port) {
  // A fixed key is allowed (the server only echoes its hash); we do not check the accept value.
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
         "Sec-WebSocket-Protocol: mqtt\r\n\r\n";
}

// Consumes the HTTP response head from `in`: 1 = 101 Switching Protocols, 0 = incomplete,
// -1 = refused.
inline int take_upgrade_response(std::string& in) {
  const size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return in.size() > 8192 ? -1 : 0;
  const bool ok = in.compare(0, 12, "HTTP/1.1 101") == 0;
  in.erase(0, end + 4);
  return ok ? 1 : -1;
}

// Appends `payload` to `out` as one masked binary frame (clients must mask, RFC 6455 5.3).
inline void append_binary_frame(std::string& out, std::string_view payload) {
  static constexpr uint8_t kMask[4] = {0x37, 0xfa, 0x21, 0x3d};
  const size_t n = payload.size();
  out.push_back(static_cast<char>(0x82));
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((n >> s) & 0xff));
  }
  out.append(reinterpret_cast<const char*>(kMask), 4);
  const size_t start = out.size();
  out.append(payload);
  char* p = out.data() + start;
  uint64_t mask8;
  uint8_t m[8] = {kMask[0], kMask[1], kMask[2], kMask[3], kMask[0], kMask[1], kMask[2], kMask[3]};
  std::memcpy(&mask8, m, 8);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    w ^= mask8;
    std::memcpy(p + i, &w, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<char>(p[i] ^ kMask[i % 4]);
}

// Unwraps the complete server frames at the front of `in` (unmasked): binary and continuation
// payloads are appended to `mqtt`, pings answered into `reply`. Returns bytes consumed, or -1
// for a close frame or a masked/oversized frame.
inline long take_frames(std::string_view in, std::string& mqtt, std::string& reply) {
  size_t pos = 0;
  for (;;) {
    if (in.size() - pos < 2) return static_cast<long>(pos);
    const auto b0 = static_cast<uint8_t>(in[pos]);
    const auto b1 = static_cast<uint8_t>(in[pos + 1]);
    if (b1 & 0x80) return -1;
    uint64_t n = b1 & 0x7f;
    size_t head = 2;
    if (n == 126) {
      if (in.size() - pos < 4) return static_cast<long>(pos);
      n = (static_cast<uint64_t>(static_cast<uint8_t>(in[pos + 2])) << 8) | static_cast<uint8_t>(in[pos + 3]);
      head = 4;
    } else if (n == 127) {
      if (in.size() - pos < 10) return static_cast<long>(pos);
      n = 0;
      for (int k = 0; k < 8; ++k) n = (n << 8) | static_cast<uint8_t>(in[pos + 2 + k]);
      head = 10;
      if (n > (1u << 30)) return -1;
    }
    if (in.size() - pos < head + n) return static_cast<long>(pos);
    const std::string_view payload = in.substr(pos + head, n);
    switch (b0 & 0x0f) {
      case 0x0: case 0x2: mqtt.append(payload); break;
      case 0x8: return -1;
      case 0x9: {  // ping: answer with a masked pong carrying the same payload
        std::string pong;
        append_binary_frame(pong, payload);
        pong[0] = static_cast<char>(0x8A);
        reply += pong;
        break;
      }
      default: break;  // pong, text: ignored
    }
    pos += head + n;
  }
}

}  // namespace loadgen::ws
