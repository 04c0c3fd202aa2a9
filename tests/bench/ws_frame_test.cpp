// Self-check of the load generator's WebSocket framing (ws_frame.hpp) and of the MQTT
// reassembly behind it (mqtt_wire.hpp's Reassembler): the masking against its definition, the
// three length forms, frames cut at every byte, MQTT packets packed into and spread over frames,
// fragmented messages, ping and close, and the frames a server must not send.
#include <doctest.h>

#include <string>
#include <vector>

#include "mqtt_wire.hpp"
#include "ws_frame.hpp"

namespace {

using loadgen::ws::FrameReader;
using Result = FrameReader::Result;
namespace ws = loadgen::ws;
namespace wire = loadgen::wire;

// A server's (unmasked) frame, with the shortest length form.
std::string server_frame(uint8_t opcode, std::string_view payload, bool fin = true) {
  std::string f(1, static_cast<char>((fin ? 0x80 : 0) | opcode));
  const size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(n));
  } else if (n <= 0xffff) {
    f += {char(126), static_cast<char>(n >> 8), static_cast<char>(n)};
  } else {
    f.push_back(char(127));
    for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>(n >> shift));
  }
  return f + std::string(payload);
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 7 + 3);
  return s;
}

// Records what a FrameReader reports.
struct Recorder {
  std::string data;
  std::vector<std::string> pings;
  size_t pieces = 0;
  bool stop_after_data = false;
  bool on_data(std::string_view piece) {
    CHECK(!piece.empty());
    data.append(piece);
    ++pieces;
    return !stop_after_data;
  }
  void on_ping(std::string_view body) { pings.emplace_back(body); }
};

// Feeds `stream` in pieces of `step` bytes; returns the last result.
Result feed_in_steps(FrameReader& reader, Recorder& rec, std::string_view stream, size_t step) {
  Result r = Result::kMore;
  for (size_t at = 0; at < stream.size() && r == Result::kMore; at += step)
    r = reader.feed(stream.substr(at, step), rec);
  return r;
}

// The packets a Reassembler cuts out of `pieces`, as "type:body-size" strings.
std::vector<std::string> packets_of(const std::vector<std::string>& pieces) {
  wire::Reassembler re;
  std::vector<std::string> out;
  for (const auto& piece : pieces) {
    const int r = re.feed(piece, [&](const wire::Packet& pk) {
      out.push_back(std::to_string(pk.type) + ":" + std::to_string(pk.body.size()));
      return true;
    });
    REQUIRE(r == 1);
  }
  return out;
}

}  // namespace

TEST_CASE("masking: word-wise XOR equals the byte-wise definition and is its own inverse") {
  const ws::MaskKey key = {0x37, 0xfa, 0x21, 0x3d};
  for (size_t n = 0; n <= 41; ++n) {
    const std::string plain = pattern(n);
    std::string masked(n, '\0');
    ws::mask_copy(masked.data(), plain.data(), n, key);
    for (size_t i = 0; i < n; ++i)
      CHECK(static_cast<uint8_t>(masked[i]) == (static_cast<uint8_t>(plain[i]) ^ key[i % 4]));
    ws::mask_copy(masked.data(), masked.data(), n, key);  // in place, back again
    CHECK(masked == plain);
  }
}

TEST_CASE("append_frame: FIN, MASK, the shortest length form, then the key and masked payload") {
  const ws::MaskKey key = {1, 2, 3, 4};
  struct Case { size_t n; size_t head; uint8_t len7; };
  for (const Case c : {Case{0, 6, 0}, Case{125, 6, 125}, Case{126, 8, 126}, Case{65535, 8, 126},
                       Case{65536, 14, 127}, Case{70001, 14, 127}}) {
    CAPTURE(c.n);
    const std::string payload = pattern(c.n);
    std::string out = "x";  // appends behind what is there
    ws::append_frame(out, ws::kBinary, payload, key);
    REQUIRE(out.size() == 1 + c.head + c.n);
    CHECK(static_cast<uint8_t>(out[1]) == 0x82);               // FIN, binary
    CHECK(static_cast<uint8_t>(out[2]) == (0x80 | c.len7));    // MASK bit, 7-bit length
    uint64_t n = c.len7;
    if (c.len7 >= 126) {  // 2 or 8 bytes of length, big-endian
      n = 0;
      for (size_t k = 3; k < (c.len7 == 126 ? 5u : 11u); ++k) n = n << 8 | static_cast<uint8_t>(out[k]);
    }
    CHECK(n == c.n);
    CHECK(out.substr(1 + c.head - 4, 4) == std::string("\1\2\3\4"));
    std::string body = out.substr(1 + c.head);
    ws::mask_copy(body.data(), body.data(), body.size(), key);
    CHECK(body == payload);
  }
}

TEST_CASE("FrameReader: 7-, 16- and 64-bit lengths, whole and cut at every size") {
  for (size_t n : {0u, 1u, 125u, 126u, 1000u, 65535u, 65536u, 200000u}) {
    CAPTURE(n);
    const std::string payload = pattern(n);
    const std::string frame = server_frame(ws::kBinary, payload);
    for (size_t step : {frame.size(), size_t{1}, size_t{3}, size_t{4096}}) {
      if (step == 1 && n > 2000) continue;
      CAPTURE(step);
      FrameReader reader;
      Recorder rec;
      CHECK(feed_in_steps(reader, rec, frame, step) == Result::kMore);
      CHECK(rec.data == payload);
      if (step == frame.size()) CHECK(rec.pieces == (n ? 1u : 0u));  // one view, no copy
    }
  }
}

TEST_CASE("several MQTT packets in one frame, and one packet over several frames") {
  std::string stream;
  wire::publish(stream, 4, "bench/fan", 0, 0, pattern(300));  // 2-byte remaining length
  wire::pingreq(stream);
  wire::ack(stream, wire::kPuback, 7);
  const std::vector<std::string> want = {"3:311", "12:0", "4:2"};

  SUBCASE("one frame") {
    FrameReader reader;
    Recorder rec;
    CHECK(reader.feed(server_frame(ws::kBinary, stream), rec) == Result::kMore);
    CHECK(packets_of({rec.data}) == want);
  }
  SUBCASE("a frame per byte: every packet spans frames, headers too") {
    std::vector<std::string> pieces;
    FrameReader reader;
    for (char byte : stream) {
      Recorder rec;
      CHECK(reader.feed(server_frame(ws::kBinary, std::string(1, byte)), rec) == Result::kMore);
      pieces.push_back(rec.data);
    }
    CHECK(packets_of(pieces) == want);
  }
  SUBCASE("cut at every point into two frames") {
    for (size_t cut = 1; cut < stream.size(); ++cut) {
      CAPTURE(cut);
      CHECK(packets_of({stream.substr(0, cut), stream.substr(cut)}) == want);
    }
  }
}

TEST_CASE("Reassembler: a malformed remaining length, and stopping early") {
  wire::Reassembler re;
  auto any = [](const wire::Packet&) { return true; };
  CHECK(re.feed(std::string("\x30\xff\xff"), any) == 1);  // still incomplete
  CHECK(re.feed(std::string("\xff\xff"), any) == -1);     // a fifth length byte

  wire::Reassembler stops;
  std::string two;
  wire::pingreq(two);
  wire::pingreq(two);
  int seen = 0;
  CHECK(stops.feed(two, [&](const wire::Packet&) { return ++seen < 1; }) == 0);
  CHECK(seen == 1);
}

TEST_CASE("fragmented message: binary, continuations, and a ping between the fragments") {
  const std::string stream = server_frame(ws::kBinary, "ab", false) +
                             server_frame(ws::kContinuation, "cd", false) +
                             server_frame(ws::kPing, "hi") +
                             server_frame(ws::kContinuation, "", false) +
                             server_frame(ws::kContinuation, "ef") +
                             server_frame(ws::kPong, "ignored") +
                             server_frame(ws::kBinary, "gh");
  for (size_t step : {stream.size(), size_t{1}, size_t{2}, size_t{5}}) {
    CAPTURE(step);
    FrameReader reader;
    Recorder rec;
    CHECK(feed_in_steps(reader, rec, stream, step) == Result::kMore);
    CHECK(rec.data == "abcdefgh");
    CHECK(rec.pings == std::vector<std::string>{"hi"});
  }
}

TEST_CASE("close frames end the stream") {
  SUBCASE("with a status code, after data in the same read") {
    FrameReader reader;
    Recorder rec;
    const std::string stream =
        server_frame(ws::kBinary, "xy") + server_frame(ws::kClose, ws::close_body(1009) + "too big");
    CHECK(reader.feed(stream, rec) == Result::kClosed);
    CHECK(rec.data == "xy");
    CHECK(reader.close_code() == 1009);
    CHECK(reader.feed(server_frame(ws::kBinary, "more"), rec) == Result::kClosed);
    CHECK(rec.data == "xy");
  }
  SUBCASE("without a body: 1005") {
    FrameReader reader;
    Recorder rec;
    CHECK(reader.feed(server_frame(ws::kClose, ""), rec) == Result::kClosed);
    CHECK(reader.close_code() == 1005);
  }
  SUBCASE("our answer is a masked close frame carrying the code") {
    std::string out;
    ws::append_frame(out, ws::kClose, ws::close_body(1000), {9, 9, 9, 9});
    CHECK(out.size() == 2 + 4 + 2);
    CHECK(static_cast<uint8_t>(out[0]) == 0x88);
    CHECK(static_cast<uint8_t>(out[1]) == 0x82);
  }
}

TEST_CASE("the sink can stop the reader") {
  FrameReader reader;
  Recorder rec;
  rec.stop_after_data = true;
  const std::string two = server_frame(ws::kBinary, "ab") + server_frame(ws::kBinary, "cd");
  CHECK(reader.feed(two, rec) == Result::kStopped);
  CHECK(rec.data == "ab");
}

TEST_CASE("frames a server must not send") {
  struct Bad { const char* what; std::string bytes; };
  std::string masked = server_frame(ws::kBinary, "abcd");
  masked[1] = static_cast<char>(masked[1] | 0x80);
  std::string rsv = server_frame(ws::kBinary, "a");
  rsv[0] = static_cast<char>(rsv[0] | 0x40);
  std::string short16 = "\x82\x7e";
  short16 += std::string("\x00\x05", 2) + "abcde";
  std::string top64 = "\x82\x7f";
  top64 += std::string("\x80\0\0\0\0\0\0\1", 8);
  std::string short64 = "\x82\x7f";
  short64 += std::string("\0\0\0\0\0\0\0\5", 8) + "abcde";
  const Bad cases[] = {
      {"masked", masked},
      {"reserved bit", rsv},
      {"text frame", server_frame(ws::kText, "{}")},
      {"continuation without a message", server_frame(ws::kContinuation, "a")},
      {"binary inside a fragmented message",
       server_frame(ws::kBinary, "a", false) + server_frame(ws::kBinary, "b")},
      {"ping over 125 bytes", server_frame(ws::kPing, std::string(126, 'p'))},
      {"fragmented ping", server_frame(ws::kPing, "p", false)},
      {"reserved opcode", server_frame(0x3, "a")},
      {"close with a 1-byte body", server_frame(ws::kClose, "x")},
      {"16-bit length below 126", short16},
      {"64-bit length with the top bit", top64},
      {"64-bit length below 65536", short64},
  };
  for (const Bad& bad : cases) {
    CAPTURE(bad.what);
    FrameReader reader;
    Recorder rec;
    CHECK(reader.feed(bad.bytes, rec) == Result::kError);
    CHECK(reader.error() != nullptr);
    CHECK(reader.feed(server_frame(ws::kBinary, "after"), rec) == Result::kError);
    CHECK(rec.data.find("after") == std::string::npos);
  }
}
