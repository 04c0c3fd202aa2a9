// hydrant-loadgen: the WebSocket opening handshake, client side (RFC 6455 section 4.1): the
// upgrade request with a random Sec-WebSocket-Key and subprotocol `mqtt`, and the check of the
// server's answer (101, Upgrade: websocket, Connection: Upgrade, the Sec-WebSocket-Accept our
// key implies, the `mqtt` subprotocol selected [MQTT-6.0.0-3]). SHA-1 and base64 come from
// libcrypto. Pure: strings in, strings out. Frames are ws_frame.hpp's.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace loadgen::ws {

inline std::string base64(const unsigned char* bytes, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');  // EVP_EncodeBlock writes a final NUL
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

// Sec-WebSocket-Key: 16 random bytes, base64.
inline std::string make_key(const std::array<uint8_t, 16>& random) {
  return base64(random.data(), random.size());
}

// Sec-WebSocket-Accept for `key`: base64(SHA-1(key + the RFC's GUID)). Empty if SHA-1 failed.
inline std::string accept_for(std::string_view key) {
  const std::string text = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha1(), nullptr) != 1) return {};
  return base64(digest, len);
}

// host: "127.0.0.1:PORT"; path: "/mqtt".
inline std::string upgrade_request(std::string_view host, std::string_view path, std::string_view key) {
  std::string r;
  r.reserve(256);
  r.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host);
  r.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ").append(key);
  r.append("\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n");
  return r;
}

namespace detail {
inline char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
// Whether the comma-separated header value `list` holds `token` (case-insensitive).
inline bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}
}  // namespace detail

struct Answer {
  enum Kind { kIncomplete, kAccepted, kRefused } kind = kIncomplete;
  size_t head_size = 0;  // kAccepted: bytes of the HTTP head; frames may follow in the same read
  std::string why;       // kRefused: what was wrong, for the log
};

// Checks the server's answer to our upgrade request with Sec-WebSocket-Key `key`; `in` holds
// what has arrived so far (the head may come in pieces). A head over 8 KiB is refused.
inline Answer check_answer(std::string_view in, std::string_view key) {
  const size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (in.size() > 8192) return {Answer::kRefused, 0, "HTTP head over 8 KiB"};
    return {};
  }
  std::string_view head = in.substr(0, end + 2);  // each line, the last one too, ends in CRLF
  const size_t eol = head.find("\r\n");
  const std::string_view status = head.substr(0, eol);
  if (status.size() < 12 || status.substr(0, 9) != "HTTP/1.1 " || status.substr(9, 3) != "101")
    return {Answer::kRefused, 0, std::string(status.substr(0, 80))};
  head.remove_prefix(eol + 2);
  bool upgrade = false, connection = false, accept = false, protocol = false;
  const std::string want_accept = accept_for(key);
  while (!head.empty()) {
    const size_t line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    head.remove_prefix(line_end + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = detail::trim(line.substr(0, colon));
    const std::string_view value = detail::trim(line.substr(colon + 1));
    using detail::iequals;
    if (iequals(name, "Upgrade")) upgrade = iequals(value, "websocket");
    else if (iequals(name, "Connection")) connection = detail::has_token(value, "upgrade");
    else if (iequals(name, "Sec-WebSocket-Accept")) accept = !want_accept.empty() && value == want_accept;
    else if (iequals(name, "Sec-WebSocket-Protocol")) protocol = value == "mqtt";
  }
  if (!upgrade) return {Answer::kRefused, 0, "no 'Upgrade: websocket'"};
  if (!connection) return {Answer::kRefused, 0, "no 'Connection: Upgrade'"};
  if (!accept) return {Answer::kRefused, 0, "Sec-WebSocket-Accept missing or wrong"};
  if (!protocol) return {Answer::kRefused, 0, "subprotocol 'mqtt' not selected"};
  return {Answer::kAccepted, end + 4, {}};
}

}  // namespace loadgen::ws
