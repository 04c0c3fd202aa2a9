// Access tokens and their hashes; see token.hpp. OpenSSL supplies the randomness (RAND_bytes),
// SHA-256 and the constant-time compare; base64url is written here because OpenSSL's
// EVP_EncodeBlock speaks standard base64 with padding. Decoding is strict (no padding, no other
// alphabet, zero leftover bits) so that each byte string has exactly one text form.
// Storing and looking up hashes is user_db's business, not this file's.
#include "auth/token.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <climits>
#include <stdexcept>

namespace hydrant::auth {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::vector<uint8_t> random_bytes(size_t n) {
  std::vector<uint8_t> out(n);
  // RAND_bytes takes an int count: fill in chunks so a huge n cannot wrap to a short fill.
  for (size_t done = 0; done < n;) {
    const size_t chunk = std::min(n - done, static_cast<size_t>(INT_MAX));
    if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
      throw std::runtime_error("the random generator failed (RAND_bytes)");
    }
    done += chunk;
  }
  return out;
}

std::string new_token() { return base64url_encode(random_bytes(32)); }

// SHA-256 only fails when OpenSSL itself is broken (no provider): an unrecoverable environment.
// Throwing beats returning the zero-filled array, which every failed call would share.
TokenHash hash_token(std::string_view token) {
  TokenHash h{};
  if (SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), h.data()) ==
      nullptr) {
    throw std::runtime_error("SHA-256 failed (OpenSSL)");
  }
  return h;
}


std::optional<TokenHash> hash_from_hex(std::string_view hex) {
  TokenHash h{};
  if (hex.size() != h.size() * 2) return std::nullopt;
  for (size_t i = 0; i < h.size(); ++i) {
    const int hi = util::hex_digit_value(hex[2 * i]);
    const int lo = util::hex_digit_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    h[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return h;
}

bool equal_hashes(const TokenHash& a, const TokenHash& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string base64url_encode(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = uint32_t{bytes[i]} << 16 | uint32_t{bytes[i + 1]} << 8 | bytes[i + 2];
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  const size_t left = bytes.size() - i;
  if (left == 1) {
    const uint32_t v = uint32_t{bytes[i]} << 16;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
  } else if (left == 2) {
    const uint32_t v = uint32_t{bytes[i]} << 16 | uint32_t{bytes[i + 1]} << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
  }
  return out;
}

std::optional<std::vector<uint8_t>> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value_of(c);
    if (v < 0) return std::nullopt;
    acc = acc << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits & 0xFF));
    }
  }
  // Leftover bits must be zero, so that every byte string has one encoding.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace hydrant::auth
