// MQTT UTF-8 validation [MQTT-1.5.4-1, MQTT-1.5.4-2]: well-formed UTF-8 (RFC 3629: no overlong
// forms, nothing above U+10FFFF, no surrogates U+D800..U+DFFF) and no U+0000. Control characters
// and non-characters are allowed: the spec only says a sender SHOULD NOT use them, and rejecting
// them would refuse topics other brokers accept. U+FEFF is kept as is [MQTT-1.5.4-3].
#include "base/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace hydrant {

namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ull;
constexpr uint64_t kLowBits = 0x0101010101010101ull;

// True when all 8 bytes are ASCII and none is NUL (the classic "has zero byte" test).
inline bool ascii_no_nul(uint64_t w) {
  return (w & kHighBits) == 0 && ((w - kLowBits) & ~w & kHighBits) == 0;
}

inline bool is_cont(uint8_t b) { return (b & 0xC0) == 0x80; }

}  // namespace

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Fast path: topics and client ids are nearly always ASCII.
    if (n - i >= 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (ascii_no_nul(w)) {
        i += 8;
        continue;
      }
    }
    const uint8_t b = p[i];
    if (b < 0x80) {
      if (b == 0) return false;  // U+0000 [MQTT-1.5.4-2]
      ++i;
      continue;
    }
    // Lead byte → number of continuation bytes and the allowed range of the first one, which is
    // what excludes overlongs (E0, F0), surrogates (ED) and code points above U+10FFFF (F4).
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;  // U+D800..U+DFFF [MQTT-1.5.4-1]
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return false;  // continuation byte as lead, C0/C1 overlong, or F5..FF
    }
    if (n - i <= need) return false;  // truncated sequence
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k <= need; ++k) {
      if (!is_cont(p[i + k])) return false;
    }
    i += need + 1;
  }
  return true;
}

}  // namespace hydrant
