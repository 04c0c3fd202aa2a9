// Access tokens: randomness shape, SHA-256 against a known vector, hex and base64url (RFC 4648).
#include <doctest.h>

#include <set>
#include <string>
#include <vector>

#include "auth/token.hpp"

using namespace hydrant::auth;

namespace {

constexpr const char* kBase64urlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("new_token: 43 base64url characters, never the same twice") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const auto t = new_token();
    CHECK(t.size() == 43);  // 256 bits, no padding
    CHECK(t.find_first_not_of(kBase64urlAlphabet) == std::string::npos);
    CHECK(seen.insert(t).second);
  }
  // It decodes back to the 32 random bytes.
  const auto raw = base64url_decode(new_token());
  REQUIRE(raw.has_value());
  CHECK(raw->size() == 32);
}

TEST_CASE("random_bytes: the size asked for, and different each time") {
  CHECK(random_bytes(0).empty());
  CHECK(random_bytes(1).size() == 1);
  const auto a = random_bytes(64);
  const auto b = random_bytes(64);
  CHECK(a.size() == 64);
  CHECK(a != b);  // a 2^-512 chance of a false failure
}

TEST_CASE("hash_token is SHA-256") {
  // FIPS 180-2 vectors.
  CHECK(to_hex(hash_token("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(to_hex(hash_token("")) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Every byte counts, embedded NULs included.
  CHECK_FALSE(equal_hashes(hash_token(std::string_view("a\0b", 3)), hash_token("a")));
}

TEST_CASE("to_hex / hash_from_hex") {
  const auto h = hash_token("abc");
  SUBCASE("round trip, lowercase out, either case in") {
    const auto hex = to_hex(h);
    CHECK(hex.size() == 64);
    CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(hash_from_hex(hex) == h);
    CHECK(hash_from_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD") == h);
    CHECK(hash_from_hex("Ba7816bF8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015AD") == h);
  }
  SUBCASE("all byte values survive") {
    TokenHash all{};
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i * 8 + 7);
    all[0] = 0x00;
    all[1] = 0xff;
    CHECK(hash_from_hex(to_hex(all)) == all);
    CHECK(to_hex(all).substr(0, 4) == "00ff");
  }
  SUBCASE("anything but exactly 64 hex digits is refused") {
    const std::string good = to_hex(h);
    CHECK_FALSE(hash_from_hex(""));
    CHECK_FALSE(hash_from_hex("ba78"));
    CHECK_FALSE(hash_from_hex(good.substr(0, 63)));
    CHECK_FALSE(hash_from_hex(good + "0"));
    CHECK_FALSE(hash_from_hex(std::string(64, 'g')));
    std::string spaced = good;
    spaced[10] = ' ';
    CHECK_FALSE(hash_from_hex(spaced));
    std::string prefixed = "0x" + good.substr(2);
    CHECK_FALSE(hash_from_hex(prefixed));
    std::string nul = good;
    nul[63] = '\0';
    CHECK_FALSE(hash_from_hex(nul));
  }
}

TEST_CASE("equal_hashes compares every byte") {
  const auto h = hash_token("abc");
  CHECK(equal_hashes(h, hash_token("abc")));
  CHECK_FALSE(equal_hashes(h, hash_token("abd")));
  for (size_t i : {size_t{0}, size_t{15}, size_t{31}}) {
    CAPTURE(i);
    TokenHash other = h;
    other[i] ^= 0x01;
    CHECK_FALSE(equal_hashes(h, other));
  }
}

TEST_CASE("base64url_encode: RFC 4648 section 10 vectors without padding") {
  CHECK(base64url_encode(bytes("")) == "");
  CHECK(base64url_encode(bytes("f")) == "Zg");
  CHECK(base64url_encode(bytes("fo")) == "Zm8");
  CHECK(base64url_encode(bytes("foo")) == "Zm9v");
  CHECK(base64url_encode(bytes("foob")) == "Zm9vYg");
  CHECK(base64url_encode(bytes("fooba")) == "Zm9vYmE");
  CHECK(base64url_encode(bytes("foobar")) == "Zm9vYmFy");
  // The two characters that differ from standard base64 ('+' and '/').
  CHECK(base64url_encode(std::vector<uint8_t>{0xfb, 0xff}) == "-_8");
  CHECK(base64url_encode(std::vector<uint8_t>{0xff, 0xff, 0xff}) == "____");
}

TEST_CASE("base64url_decode: vectors and round trips") {
  CHECK(base64url_decode("") == std::vector<uint8_t>{});
  CHECK(base64url_decode("Zg") == bytes("f"));
  CHECK(base64url_decode("Zm8") == bytes("fo"));
  CHECK(base64url_decode("Zm9v") == bytes("foo"));
  CHECK(base64url_decode("Zm9vYg") == bytes("foob"));
  CHECK(base64url_decode("Zm9vYmE") == bytes("fooba"));
  CHECK(base64url_decode("Zm9vYmFy") == bytes("foobar"));
  CHECK(base64url_decode("-_8") == std::vector<uint8_t>{0xfb, 0xff});
  // Every length 0..64 (all three tail shapes) and every byte value.
  std::vector<uint8_t> data;
  for (int n = 0; n <= 64; ++n) {
    CAPTURE(n);
    const auto text = base64url_encode(data);
    CHECK(text.size() == (data.size() * 4 + 2) / 3);
    CHECK(base64url_decode(text) == data);
    data.push_back(static_cast<uint8_t>(n * 37 + 200));
  }
}

TEST_CASE("base64url_decode refuses what is not canonical unpadded base64url") {
  SUBCASE("padding") {
    CHECK_FALSE(base64url_decode("Zg=="));
    CHECK_FALSE(base64url_decode("Zm8="));
    CHECK_FALSE(base64url_decode("===="));
  }
  SUBCASE("characters outside the alphabet") {
    CHECK_FALSE(base64url_decode("Zm9v+"));   // standard alphabet
    CHECK_FALSE(base64url_decode("Zm9v/w"));  // standard alphabet
    CHECK_FALSE(base64url_decode("Zm 9v"));
    CHECK_FALSE(base64url_decode("Zm9v\n"));
    CHECK_FALSE(base64url_decode(std::string_view("Zm\0v", 4)));
    CHECK_FALSE(base64url_decode("Zm\xc3\xa9"));  // UTF-8 é
  }
  SUBCASE("impossible lengths") {
    CHECK_FALSE(base64url_decode("Z"));
    CHECK_FALSE(base64url_decode("Zm9vY"));
  }
  SUBCASE("non-zero leftover bits") {
    CHECK_FALSE(base64url_decode("Zh"));   // "Zg" is the one encoding of "f"
    CHECK_FALSE(base64url_decode("Zm9"));  // "Zm8" is the one encoding of "fo"
  }
}
