// Self-check of the load generator's WebSocket opening handshake (ws_handshake.hpp), with the
// examples of RFC 6455 sections 1.3 and 4.1.
#include <doctest.h>

#include <string>

#include "ws_handshake.hpp"

namespace ws = loadgen::ws;

namespace {
const char* const kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";
const char* const kRfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

std::string answer(std::string_view extra_headers, std::string_view accept = kRfcAccept) {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " + std::string(accept) + "\r\n" + std::string(extra_headers) + "\r\n";
}
}  // namespace

TEST_CASE("key and accept: the RFC's examples") {
  std::array<uint8_t, 16> nonce;
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(i + 1);
  CHECK(ws::make_key(nonce) == "AQIDBAUGBwgJCgsMDQ4PEA==");  // RFC 6455 4.1
  CHECK(ws::accept_for(kRfcKey) == kRfcAccept);               // RFC 6455 1.3
}

TEST_CASE("the upgrade request") {
  const std::string r = ws::upgrade_request("127.0.0.1:8080", "/mqtt", kRfcKey);
  CHECK(r.rfind("GET /mqtt HTTP/1.1\r\n", 0) == 0);
  for (const char* line : {"Host: 127.0.0.1:8080\r\n", "Upgrade: websocket\r\n", "Connection: Upgrade\r\n",
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                           "Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Protocol: mqtt\r\n"})
    CHECK(r.find(line) != std::string::npos);
  CHECK(r.substr(r.size() - 4) == "\r\n\r\n");
}

TEST_CASE("check_answer accepts a proper 101, arriving in pieces, with frames behind it") {
  const std::string head = answer("Sec-WebSocket-Protocol: mqtt\r\n");
  const std::string in = head + "\x82\x02\xd0\x00";  // a PINGRESP frame in the same read
  for (size_t cut = 0; cut < head.size(); ++cut)
    CHECK(ws::check_answer(in.substr(0, cut), kRfcKey).kind == ws::Answer::kIncomplete);
  const ws::Answer a = ws::check_answer(in, kRfcKey);
  CHECK(a.kind == ws::Answer::kAccepted);
  CHECK(a.head_size == head.size());
}

TEST_CASE("check_answer: header names in any case, Connection as a token list") {
  const std::string in =
      "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, upgrade\r\n"
      "sec-websocket-accept:s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-Websocket-Protocol:  mqtt \r\n\r\n";
  CHECK(ws::check_answer(in, kRfcKey).kind == ws::Answer::kAccepted);
}

TEST_CASE("check_answer refuses what is not a proper upgrade to mqtt") {
  struct Bad { const char* what; std::string in; };
  const Bad cases[] = {
      {"404", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"},
      {"wrong accept", answer("Sec-WebSocket-Protocol: mqtt\r\n", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")},
      {"no subprotocol", answer("")},
      {"another subprotocol", answer("Sec-WebSocket-Protocol: mqttv3.1\r\n")},
      {"no Upgrade", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                     "Sec-WebSocket-Protocol: mqtt\r\n\r\n"},
      {"head over 8 KiB", "HTTP/1.1 101 Switching Protocols\r\nX: " + std::string(9000, 'x')},
  };
  for (const Bad& bad : cases) {
    CAPTURE(bad.what);
    const ws::Answer a = ws::check_answer(bad.in, kRfcKey);
    CHECK(a.kind == ws::Answer::kRefused);
    CHECK(!a.why.empty());
  }
}
