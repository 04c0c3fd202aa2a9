// Signed tokens: round trip, and every refusal (wrong key, tampering, alg none, expiry, scope,
// malformed input) without trusting an unverified payload.
#include <doctest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/jwt.hpp"
#include "auth/token.hpp"

using namespace hydrant::auth;

namespace {

const std::string kKey = "0123456789abcdef0123456789abcdef";
std::span<const uint8_t> key(const std::string& k = kKey) {
  return {reinterpret_cast<const uint8_t*>(k.data()), k.size()};
}
std::span<const uint8_t> span_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A token with any header and payload, correctly signed: reaches the checks after the signature.
std::string forge(std::string_view header, std::string_view payload) {
  const std::string input = base64url_encode(span_of(header)) + "." + base64url_encode(span_of(payload));
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kKey.data(), static_cast<int>(kKey.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + base64url_encode(std::span<const uint8_t>(mac, len));
}

std::string error_of(const std::variant<Claims, JwtError>& v) {
  return std::holds_alternative<JwtError>(v) ? std::get<JwtError>(v).message : "";
}

}  // namespace

TEST_CASE("sign then verify keeps the claims") {
  const Claims c{"taskcluster \"q\"", 1000, 2000, Scope::Subscribe};
  const auto token = sign_jwt(c, key());
  CHECK(looks_like_jwt(token));
  const auto v = verify_jwt(token, key(), 1500);
  REQUIRE(std::holds_alternative<Claims>(v));
  const auto& got = std::get<Claims>(v);
  CHECK(got.subject == c.subject);
  CHECK(got.issued_at == 1000);
  CHECK(got.expires_at == 2000);
  CHECK(got.scope == Scope::Subscribe);
}

TEST_CASE("refusals") {
  const auto token = sign_jwt({"gerrit", 1000, 2000, Scope::Publish}, key());
  CHECK(error_of(verify_jwt(token, key("another key of thirty-two bytes!"), 1500)) == "bad signature");
  CHECK(error_of(verify_jwt(token, key(), 2000)) == "expired");
  // Tampering: another subject under the original signature.
  const auto dot1 = token.find('.');
  const auto dot2 = token.rfind('.');
  const std::string tampered = token.substr(0, dot1 + 1) +
      base64url_encode(span_of(R"({"sub":"admin","iat":1000,"exp":2000,"scope":"publish"})")) +
      token.substr(dot2);
  CHECK(error_of(verify_jwt(tampered, key(), 1500)) == "bad signature");
  // alg none with an empty signature is not even a JWT shape here; with any signature, refused.
  const std::string none = base64url_encode(span_of(R"({"alg":"none"})")) + "." +
      base64url_encode(span_of(R"({"sub":"gerrit","exp":2000,"scope":"publish"})")) + ".";
  CHECK(error_of(verify_jwt(none, key(), 1500)) == "malformed");
  CHECK(error_of(verify_jwt(forge(R"({"alg":"none"})", R"({"sub":"g","exp":2000,"scope":"publish"})"),
                            key(), 1500)) == "unsupported algorithm");
  CHECK(error_of(verify_jwt(forge(R"({"alg":"HS512"})", R"({"sub":"g","exp":2000,"scope":"publish"})"),
                            key(), 1500)) == "unsupported algorithm");
  const std::string hs = R"({"alg":"HS256","typ":"JWT"})";
  CHECK(error_of(verify_jwt(forge(hs, R"({"sub":"g","exp":2000})"), key(), 1500)) == "missing scope");
  CHECK(error_of(verify_jwt(forge(hs, R"({"sub":"g","exp":2000,"scope":"all"})"), key(), 1500)) ==
        "unknown scope");
  CHECK(error_of(verify_jwt(forge(hs, R"({"exp":2000,"scope":"publish"})"), key(), 1500)) ==
        "missing subject");
  CHECK(error_of(verify_jwt(forge(hs, R"({"sub":"g","scope":"publish"})"), key(), 1500)) ==
        "missing expiry");
  CHECK(error_of(verify_jwt(forge(hs, "not json"), key(), 1500)) == "malformed payload");
  CHECK(error_of(verify_jwt(forge("[1,", R"({"sub":"g"})"), key(), 1500)) == "malformed header");
  for (const char* bad : {"", "abc", "a.b", "a.b.c.d", "a..c", "a.b.", "a+b.c.d", "é.b.c"}) {
    CAPTURE(bad);
    CHECK_FALSE(error_of(verify_jwt(bad, key(), 1500)).empty());
  }
  CHECK(looks_like_jwt("aGVsbG8.d29ybGQ.c2ln"));
  CHECK_FALSE(looks_like_jwt("plain-access-token_43-characters-long-xxxxx"));
}
