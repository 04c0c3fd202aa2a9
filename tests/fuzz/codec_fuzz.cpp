// libFuzzer target for the codec: the codec's decode(), where untrusted bytes enter.
//
// For each input and each protocol version: decode() must never crash or read out of bounds, and
// whatever it accepts must survive encode → decode unchanged (compared field by field through the
// structs' operator==, which compares string contents, not the views' addresses), with
// encoded_size() equal to the bytes written and re-encoding byte-identical. The input is also
// walked as a stream of frames with parse_frame(), and is_valid_utf8() is checked against a slow
// reference decoder.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "base/utf8.hpp"
#include "codec/codec.hpp"

using namespace hydrant;
using namespace hydrant::codec;

namespace {

constexpr ProtocolVersion kVersions[] = {ProtocolVersion::V31, ProtocolVersion::V311,
                                         ProtocolVersion::V5};

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "codec_fuzz: %s\n", what);
  std::abort();
}

// Reference UTF-8 check: decode each code point, then apply the MQTT rules.
bool reference_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    uint32_t cp;
    size_t len;
    if (b < 0x80) { cp = b; len = 1; }
    else if ((b & 0xE0) == 0xC0) { cp = b & 0x1F; len = 2; }
    else if ((b & 0xF0) == 0xE0) { cp = b & 0x0F; len = 3; }
    else if ((b & 0xF8) == 0xF0) { cp = b & 0x07; len = 4; }
    else return false;
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = cp << 6 | (c & 0x3F);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0) return false;
    i += len;
  }
  return true;
}

void check_round_trip(const Packet& p, ProtocolVersion v) {
  Bytes out;
  encode(p, v, out);
  if (out.size() != encoded_size(p, v)) fail("encoded_size differs from encode");
  const ProtocolVersion dv =
      std::holds_alternative<Connect>(p) ? std::get<Connect>(p).protocol_version : v;
  auto again = decode(ByteView(out), dv);
  if (!again.ok()) fail("re-decoding an encoded packet failed");
  if (!(*again == p)) fail("round trip changed the packet");
  Bytes out2;
  encode(*again, v, out2);
  if (out2 != out) fail("re-encoding is not byte-identical");
}

void decode_all_versions(ByteView bytes) {
  for (ProtocolVersion v : kVersions) {
    auto r = decode(bytes, v);
    if (r.ok()) {
      check_round_trip(*r, v);
    } else if (r.code() == ReasonCode::Success || !is_error(r.code())) {
      fail("error result without an error code");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView input(data, size);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (is_valid_utf8(text) != reference_utf8(text)) fail("is_valid_utf8 disagrees with reference");

  // The whole input as one packet.
  decode_all_versions(input);

  // The input as a stream: every complete frame in turn.
  ByteView rest = input;
  while (!rest.empty()) {
    auto f = parse_frame(rest, 4096);
    if (!f.ok() || !f->has_value()) break;
    const uint32_t total = (*f)->total_size();
    if (total > rest.size()) break;  // the body is still "arriving"
    decode_all_versions(rest.first(total));
    rest = rest.subspan(total);
  }
  return 0;
}
