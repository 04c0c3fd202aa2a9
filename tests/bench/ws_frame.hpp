// hydrant-loadgen: WebSocket framing, client side (RFC 6455 section 5). Frames out are masked
// (a client must mask, 5.1) with word-sized XOR in the same pass that copies the payload; frames
// in are read by a streaming FrameReader that takes bytes as recv() returns them and hands the
// data payloads on as views of those bytes (a server does not mask, so nothing is copied),
// however the frames are cut: several MQTT packets in one frame, one packet over several frames,
// fragmented messages, pings between fragments. Pure: no sockets, no allocation per data frame.
// Not here: the opening handshake (ws_handshake.hpp) and MQTT (mqtt_wire.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace loadgen::ws {

enum Opcode : uint8_t {
  kContinuation = 0x0, kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9, kPong = 0xA,
};

using MaskKey = std::array<uint8_t, 4>;

// dst[i] = src[i] ^ key[i % 4], eight bytes at a time; dst may be src (masking is its own
// inverse, which is what makes the round trip testable).
inline void mask_copy(char* dst, const char* src, size_t n, MaskKey key) {
  const uint8_t key8[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  uint64_t mask;
  std::memcpy(&mask, key8, 8);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, src + i, 8);
    word ^= mask;
    std::memcpy(dst + i, &word, 8);
  }
  for (; i < n; ++i) dst[i] = static_cast<char>(src[i] ^ static_cast<char>(key[i % 4]));
}

// Appends one whole (FIN) masked frame carrying `payload`, with the shortest length form.
inline void append_frame(std::string& out, Opcode op, std::string_view payload, MaskKey key) {
  const size_t n = payload.size();
  uint8_t head[14];
  size_t h = 0;
  head[h++] = static_cast<uint8_t>(0x80 | op);
  if (n < 126) {
    head[h++] = static_cast<uint8_t>(0x80 | n);
  } else if (n <= 0xffff) {
    head[h++] = 0x80 | 126;
    head[h++] = static_cast<uint8_t>(n >> 8);
    head[h++] = static_cast<uint8_t>(n);
  } else {
    head[h++] = 0x80 | 127;
    for (int shift = 56; shift >= 0; shift -= 8) head[h++] = static_cast<uint8_t>(n >> shift);
  }
  std::memcpy(head + h, key.data(), 4);
  h += 4;
  const size_t at = out.size();
  out.resize(at + h + n);
  std::memcpy(out.data() + at, head, h);
  mask_copy(out.data() + at + h, payload.data(), n, key);
}

// A close frame's body: the status code, big-endian (RFC 6455 5.5.1).
inline std::string close_body(uint16_t code) {
  return {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
}

// Reads the server's frames from a byte stream cut anywhere. feed() calls, on the sink:
//   bool on_data(std::string_view piece)  the next bytes of binary message payload, in order,
//                                          in pieces of any size (never empty); false = stop;
//   void on_ping(std::string_view body)   a whole ping; the caller owes a pong with that body.
// Pongs are ignored. A close frame, or anything RFC 6455 or MQTT over WebSocket forbids a
// server to send, ends the stream: feed() returns kClosed or kError from then on.
class FrameReader {
 public:
  enum class Result { kMore, kStopped, kClosed, kError };

  template <class Sink>
  Result feed(std::string_view in, Sink& sink) {
    if (error_) return Result::kError;
    if (closed_) return Result::kClosed;
    for (;;) {
      if (!in_frame_) {  // gather the header: 2 bytes, then 2 or 8 more for a longer length
        if (in.empty()) return Result::kMore;
        const size_t take = std::min(head_need_ - head_have_, in.size());
        std::memcpy(head_ + head_have_, in.data(), take);
        head_have_ += take;
        in.remove_prefix(take);
        if (head_have_ < head_need_) return Result::kMore;
        if (!start_frame()) return Result::kError;
        continue;
      }
      const size_t take = static_cast<size_t>(std::min<uint64_t>(left_, in.size()));
      const std::string_view piece = in.substr(0, take);
      in.remove_prefix(take);
      left_ -= take;
      if (op_ & 0x8) control_.append(piece);
      else if (take > 0 && !sink.on_data(piece)) return Result::kStopped;
      if (left_ > 0) return Result::kMore;  // `in` is used up mid-frame
      in_frame_ = false;
      if (op_ == kPing) sink.on_ping(control_);
      if (op_ == kClose) return end_with_close();
    }
  }

  // Why the stream ended in kError.
  const char* error() const { return error_; }
  // The status code of the server's close frame (1005 when it carried none).
  uint16_t close_code() const { return close_code_; }

 private:
  // The header is complete up to head_need_ bytes: asks for the extended length if there is
  // one, else checks the header and starts the payload. False on a frame a server must not send.
  bool start_frame() {
    const uint8_t b0 = head_[0], b1 = head_[1];
    if (head_need_ == 2) {
      if (b1 & 0x80) return fail("masked frame from the server");  // [RFC 6455 5.1]
      if ((b1 & 0x7f) == 126) return head_need_ = 4, true;
      if ((b1 & 0x7f) == 127) return head_need_ = 10, true;
    }
    uint64_t n = b1 & 0x7f;
    if (head_need_ == 4) {
      n = static_cast<uint64_t>(head_[2]) << 8 | head_[3];
      if (n < 126) return fail("16-bit length below 126");  // [RFC 6455 5.2] shortest form
    } else if (head_need_ == 10) {
      n = 0;
      for (size_t k = 2; k < 10; ++k) n = n << 8 | head_[k];
      if (n >> 63) return fail("64-bit length with its top bit set");
      if (n <= 0xffff) return fail("64-bit length below 65536");
    }
    if (b0 & 0x70) return fail("reserved bits set, but no extension was negotiated");
    op_ = b0 & 0x0f;
    const bool fin = b0 & 0x80;
    switch (op_) {
      case kBinary:
        if (in_message_) return fail("binary frame inside a fragmented message");
        in_message_ = !fin;
        break;
      case kContinuation:
        if (!in_message_) return fail("continuation frame without a message to continue");
        in_message_ = !fin;
        break;
      case kText:
        return fail("text frame (MQTT travels in binary frames)");  // [MQTT-6.0.0-1]
      case kClose: case kPing: case kPong:
        if (!fin || n > 125) return fail("control frame fragmented or over 125 bytes");
        control_.clear();
        break;
      default:
        return fail("reserved opcode");
    }
    left_ = n;
    in_frame_ = true;
    head_have_ = 0;
    head_need_ = 2;
    return true;
  }

  Result end_with_close() {
    if (control_.size() == 1) {
      fail("close frame with a 1-byte body");
      return Result::kError;
    }
    const auto byte = [this](size_t k) { return static_cast<uint8_t>(control_[k]); };
    close_code_ = control_.size() >= 2 ? static_cast<uint16_t>(byte(0) << 8 | byte(1)) : 1005;
    closed_ = true;
    return Result::kClosed;
  }

  bool fail(const char* why) {
    error_ = why;
    return false;
  }

  uint8_t head_[14] = {};
  size_t head_have_ = 0, head_need_ = 2;
  bool in_frame_ = false;     // the header is read; left_ payload bytes are still to come
  bool in_message_ = false;   // a fragmented binary message waits for its continuation
  bool closed_ = false;
  uint8_t op_ = 0;
  uint64_t left_ = 0;
  std::string control_;       // body of the control frame being read (at most 125 bytes)
  const char* error_ = nullptr;
  uint16_t close_code_ = 0;
};

}  // namespace loadgen::ws
