// Access tokens: randomness shape, SHA-256 against a known vector, hex and base64url (RFC 4648).
#include <doctest.h>

#include <set>

#include "auth/token.hpp"

using namespace hydrant::auth;

namespace {
std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }
}  // namespace

TEST_CASE("new_token: 43 base64url characters, never the same twice") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const auto t = new_token();
    CHECK(t.size() == 43);
    CHECK(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    CHECK(seen.insert(t).second);
  }
}

TEST_CASE("hash_token is SHA-256; hex round trip; constant-time equality") {
  const auto h = hash_token("abc");
  CHECK(to_hex(h) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hash_from_hex(to_hex(h)) == h);
  CHECK(hash_from_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD") == h);
  CHECK_FALSE(hash_from_hex("ba78"));
  CHECK_FALSE(hash_from_hex(std::string(64, 'g')));
  CHECK(equal_hashes(h, hash_token("abc")));
  CHECK_FALSE(equal_hashes(h, hash_token("abd")));
}

TEST_CASE("base64url: RFC 4648 vectors without padding; bad input refused") {
  CHECK(base64url_encode(bytes("")) == "");
  CHECK(base64url_encode(bytes("f")) == "Zg");
  CHECK(base64url_encode(bytes("fo")) == "Zm8");
  CHECK(base64url_encode(bytes("foo")) == "Zm9v");
  CHECK(base64url_encode(bytes("foobar")) == "Zm9vYmFy");
  CHECK(base64url_encode(std::vector<uint8_t>{0xfb, 0xff}) == "-_8");
  CHECK(base64url_decode("Zm9vYmFy") == bytes("foobar"));
  CHECK(base64url_decode("-_8") == std::vector<uint8_t>{0xfb, 0xff});
  CHECK_FALSE(base64url_decode("Zg=="));  // padding
  CHECK_FALSE(base64url_decode("Zm9v+"));  // standard alphabet
  CHECK_FALSE(base64url_decode("Z"));      // impossible length
  CHECK_FALSE(base64url_decode("Zh"));     // non-zero leftover bits
}
