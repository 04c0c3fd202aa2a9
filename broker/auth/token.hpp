// Access tokens: random secrets shown once to their owner and stored only as a SHA-256 hash.
// A token carries 256 random bits, so a fast hash is enough (no password stretching needed:
// nobody can guess the input); comparison of hashes is constant-time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>
#include "util/hex.hpp"

namespace hydrant::auth {

using TokenHash = std::array<uint8_t, 32>;

// 32 bytes from the OpenSSL CSPRNG, base64url without padding (43 characters).
// Throws std::runtime_error if the generator fails.
std::string new_token();
// The same for an arbitrary number of random bytes (admin token, signing secret).
std::vector<uint8_t> random_bytes(size_t n);

TokenHash hash_token(std::string_view token);  // SHA-256 of the token's bytes
using util::to_hex;  // lowercase; a TokenHash gives 64 digits
std::optional<TokenHash> hash_from_hex(std::string_view hex);  // nullopt unless 64 hex digits
bool equal_hashes(const TokenHash& a, const TokenHash& b);     // constant time (CRYPTO_memcmp)

// RFC 4648 section 5, no padding. decode accepts input without padding only and rejects any
// character outside the alphabet (nullopt).
std::string base64url_encode(std::span<const uint8_t> bytes);
std::optional<std::vector<uint8_t>> base64url_decode(std::string_view text);

}  // namespace hydrant::auth
