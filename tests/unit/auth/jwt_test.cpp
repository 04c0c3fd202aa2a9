// Signed tokens: round trip, the RFC 7515 HS256 vector, and every refusal (wrong key, tampering,
// alg none, expiry, scope, malformed input) without trusting an unverified payload.
#include <doctest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/token.hpp"

using namespace hydrant::auth;

namespace {

const std::string kKey = "0123456789abcdef0123456789abcdef";
const std::string kHs256 = R"({"alg":"HS256","typ":"JWT"})";

std::span<const uint8_t> span_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::span<const uint8_t> key(const std::string& k = kKey) { return span_of(k); }

std::string b64(std::string_view s) { return base64url_encode(span_of(s)); }

// The MAC of any signing input, computed here (not by jwt.cpp) so the tests do not trust it.
std::string mac_of(std::string_view input, std::string_view k = kKey) {
  unsigned char mac[32];
  unsigned int len = 0;
  REQUIRE(HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()),
               reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
               &len) != nullptr);
  return base64url_encode(std::span<const uint8_t>(mac, len));
}

// A token whose parts are given as already-encoded text, correctly signed.
std::string sign_parts(std::string_view header_part, std::string_view payload_part) {
  const std::string input = std::string(header_part) + "." + std::string(payload_part);
  return input + "." + mac_of(input);
}

// A token with any header and payload JSON, correctly signed: reaches the checks after the MAC.
std::string forge(std::string_view header, std::string_view payload) {
  return sign_parts(b64(header), b64(payload));
}

std::string error_of(const std::variant<Claims, JwtError>& v) {
  return std::holds_alternative<JwtError>(v) ? std::get<JwtError>(v).message : "";
}

std::string verify_error(std::string_view token, int64_t now = 1500) {
  return error_of(verify_jwt(token, key(), now));
}

}  // namespace

TEST_CASE("scope names") {
  CHECK(std::string(scope_name(Scope::Publish)) == "publish");
  CHECK(std::string(scope_name(Scope::Subscribe)) == "subscribe");
  Scope s = Scope::Publish;
  CHECK(parse_scope("subscribe", s));
  CHECK(s == Scope::Subscribe);
  CHECK(parse_scope("publish", s));
  CHECK(s == Scope::Publish);
  CHECK_FALSE(parse_scope("Publish", s));
  CHECK_FALSE(parse_scope("", s));
  CHECK_FALSE(parse_scope("publish ", s));
  CHECK(s == Scope::Publish);  // untouched on failure
}

TEST_CASE("sign_jwt writes the fixed header, the claims, and an HS256 MAC") {
  const auto token = sign_jwt({"gerrit", 1000, 2000, Scope::Publish}, key());
  const auto dot1 = token.find('.');
  const auto dot2 = token.rfind('.');
  REQUIRE(looks_like_jwt(token));
  const auto header = base64url_decode(token.substr(0, dot1));
  const auto payload = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  REQUIRE(header);
  REQUIRE(payload);
  CHECK(std::string(header->begin(), header->end()) == kHs256);
  CHECK(std::string(payload->begin(), payload->end()) ==
        R"({"sub":"gerrit","iat":1000,"exp":2000,"scope":"publish"})");
  CHECK(token.substr(dot2 + 1) == mac_of(token.substr(0, dot2)));
}

TEST_CASE("sign then verify keeps the claims") {
  SUBCASE("subscribe scope, a subject that needs escaping") {
    const Claims c{"task\"cluster\\ \n\t\x01\x1f caf\xc3\xa9 /", 1000, 2000, Scope::Subscribe};
    const auto v = verify_jwt(sign_jwt(c, key()), key(), 1500);
    REQUIRE(std::holds_alternative<Claims>(v));
    const auto& got = std::get<Claims>(v);
    CHECK(got.subject == c.subject);
    CHECK(got.issued_at == 1000);
    CHECK(got.expires_at == 2000);
    CHECK(got.scope == Scope::Subscribe);
  }
  SUBCASE("publish scope, 64-bit times") {
    const Claims c{"p", -5, INT64_MAX, Scope::Publish};
    const auto v = verify_jwt(sign_jwt(c, key()), key(), INT64_MAX - 1);
    REQUIRE(std::holds_alternative<Claims>(v));
    CHECK(std::get<Claims>(v).issued_at == -5);
    CHECK(std::get<Claims>(v).expires_at == INT64_MAX);
    CHECK(std::get<Claims>(v).scope == Scope::Publish);
  }
  SUBCASE("an empty secret still signs and verifies (and only with itself)") {
    const std::string empty;
    const auto token = sign_jwt({"e", 0, 2000, Scope::Publish}, key(empty));
    CHECK(std::holds_alternative<Claims>(verify_jwt(token, key(empty), 1500)));
    CHECK(error_of(verify_jwt(token, key(), 1500)) == "bad signature");
  }
  SUBCASE("iat is optional and defaults to 0") {
    const auto v = verify_jwt(forge(kHs256, R"({"sub":"g","exp":2000,"scope":"publish"})"), key(),
                              1500);
    REQUIRE(std::holds_alternative<Claims>(v));
    CHECK(std::get<Claims>(v).issued_at == 0);
  }
  SUBCASE("whitespace, key order and extra claims do not matter") {
    const auto v = verify_jwt(
        forge(" { \"typ\" : \"JWT\" , \"alg\" : \"HS256\" } ",
              R"({"scope":"subscribe","aud":"x","exp":2000,"sub":"g","iat":7})"),
        key(), 1500);
    REQUIRE(std::holds_alternative<Claims>(v));
    CHECK(std::get<Claims>(v).subject == "g");
    CHECK(std::get<Claims>(v).issued_at == 7);
  }
}

TEST_CASE("RFC 7515 appendix A.1: the HS256 example verifies its MAC") {
  // The RFC's key (a JWK "k" value) and token; its payload has no sub, so the first check after a
  // good MAC and an accepted header is the one that fails.
  const auto rfc_key = base64url_decode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  REQUIRE(rfc_key);
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
      ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
      ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  CHECK(looks_like_jwt(token));
  CHECK(error_of(verify_jwt(token, *rfc_key, 0)) == "missing subject");
  auto other = *rfc_key;
  other[0] ^= 1;
  CHECK(error_of(verify_jwt(token, other, 0)) == "bad signature");
}

TEST_CASE("bad signatures") {
  const auto token = sign_jwt({"gerrit", 1000, 2000, Scope::Publish}, key());
  const auto dot1 = token.find('.');
  const auto dot2 = token.rfind('.');
  SUBCASE("another secret") {
    CHECK(error_of(verify_jwt(token, key("another key of thirty-two bytes!"), 1500)) ==
          "bad signature");
  }
  SUBCASE("a tampered payload: another subject under the original MAC") {
    const std::string tampered =
        token.substr(0, dot1 + 1) +
        b64(R"({"sub":"admin","iat":1000,"exp":2000,"scope":"publish"})") + token.substr(dot2);
    CHECK(verify_error(tampered) == "bad signature");
  }
  SUBCASE("a tampered header") {
    const std::string tampered = b64(R"({"alg":"HS256"})") + token.substr(dot1);
    CHECK(verify_error(tampered) == "bad signature");
  }
  SUBCASE("a MAC of the wrong length") {
    const std::string mac = token.substr(dot2 + 1);
    CHECK(verify_error(token.substr(0, dot2 + 1) + mac.substr(0, 20)) == "bad signature");  // 15 B
    CHECK(verify_error(token + "AAAA") == "bad signature");                                 // 35 B
  }
  SUBCASE("a MAC that does not decode") {
    CHECK(verify_error(token.substr(0, dot2 + 1) + "A") == "bad signature");  // length 1
    std::string flipped = token;
    flipped.back() = flipped.back() == 'k' ? 'l' : 'k';  // non-zero leftover bits or wrong MAC
    CHECK(verify_error(flipped) == "bad signature");
  }
  SUBCASE("the signature is checked before the header is read") {
    // An alg none header with a made-up MAC is a bad signature, not an algorithm question.
    const std::string none = b64(R"({"alg":"none"})") + "." +
                             b64(R"({"sub":"g","exp":2000,"scope":"publish"})") + "." + b64("x");
    CHECK(verify_error(none) == "bad signature");
  }
}

TEST_CASE("algorithms other than HS256 are refused") {
  const std::string claims = R"({"sub":"g","exp":2000,"scope":"publish"})";
  // The classic alg none token: empty signature, so not even the shape of a JWT.
  CHECK(verify_error(b64(R"({"alg":"none","typ":"JWT"})") + "." + b64(claims) + ".") ==
        "malformed");
  // Even correctly MACed with the shared secret, only HS256 passes.
  for (const std::string header : {R"({"alg":"none"})", R"({"alg":"None"})", R"({"alg":"HS512"})",
                             R"({"alg":"hs256"})", R"({"alg":"RS256"})", R"({"alg":""})"}) {
    CAPTURE(header);
    CHECK(verify_error(forge(header, claims)) == "unsupported algorithm");
  }
  for (const std::string header : {"[1,", "not json", "[]", R"("HS256")", R"({"typ":"JWT"})",
                             R"({"alg":256})", R"({"alg":null})"}) {
    CAPTURE(header);
    CHECK(verify_error(forge(header, claims)) == "malformed header");
  }
}

TEST_CASE("claims") {
  SUBCASE("expiry") {
    const auto token = sign_jwt({"g", 1000, 2000, Scope::Publish}, key());
    CHECK(verify_error(token, 1999).empty());
    CHECK(verify_error(token, 2000) == "expired");  // exp is the first second it is invalid
    CHECK(verify_error(token, 3000) == "expired");
  }
  SUBCASE("missing or bad claims") {
    const auto check = [](const std::string& payload, const char* error) {
      CAPTURE(payload);
      CHECK(verify_error(forge(kHs256, payload)) == error);
    };
    check(R"({"sub":"g","exp":2000})", "missing scope");
    check(R"({"sub":"g","exp":2000,"scope":7})", "missing scope");
    check(R"({"sub":"g","exp":2000,"scope":"all"})", "unknown scope");
    check(R"({"sub":"g","exp":2000,"scope":"PUBLISH"})", "unknown scope");
    check(R"({"exp":2000,"scope":"publish"})", "missing subject");
    check(R"({"sub":"","exp":2000,"scope":"publish"})", "missing subject");
    check(R"({"sub":42,"exp":2000,"scope":"publish"})", "missing subject");
    check(R"({"sub":"g","scope":"publish"})", "missing expiry");
    check(R"({"sub":"g","exp":"2000","scope":"publish"})", "missing expiry");
    check(R"({"sub":"g","exp":2000.5,"scope":"publish"})", "missing expiry");
    check(R"({"sub":"g","exp":18446744073709551615,"scope":"publish"})", "missing expiry");
    check(R"({"sub":"g","exp":-1,"scope":"publish"})", "expired");
    check(R"({"sub":"g","iat":"now","exp":2000,"scope":"publish"})", "bad iat");
  }
  SUBCASE("payloads that are not a JSON object, correctly signed") {
    for (const std::string payload :
         {"not json", "[]", "\"sub\"", "null", R"({"sub":"g")", "{\"sub\":\"\xff\"}"}) {
      CAPTURE(payload);
      CHECK(verify_error(forge(kHs256, payload)) == "malformed payload");
    }
  }
}

TEST_CASE("malformed tokens are refused without a crash") {
  SUBCASE("the wrong shape") {
    for (const std::string bad : {"", ".", "..", "abc", "a.b", "a.b.c.d", "a..c", ".b.c", "a.b.",
                            "a+b.c.d", "a.b/c.d", "a.b.c=", "\xc3\xa9.b.c", "a. b.c"}) {
      CAPTURE(bad);
      CHECK(verify_error(bad) == "malformed");
    }
  }
  SUBCASE("a header or payload that does not decode, under a valid MAC") {
    const std::string payload = b64(R"({"sub":"g","exp":2000,"scope":"publish"})");
    CHECK(verify_error(sign_parts("A", payload)) == "malformed");       // impossible length
    CHECK(verify_error(sign_parts(b64(kHs256), "Zh")) == "malformed");  // leftover bits
  }
  SUBCASE("long and deep input") {
    const std::string deep = std::string(5000, '[') + std::string(5000, ']');
    CHECK(verify_error(forge(kHs256, deep)) == "malformed payload");
    const std::string big_sub = R"({"sub":")" + std::string(100000, 'x') +
                                R"(","exp":2000,"scope":"publish"})";
    const auto v = verify_jwt(forge(kHs256, big_sub), key(), 1500);
    REQUIRE(std::holds_alternative<Claims>(v));
    CHECK(std::get<Claims>(v).subject.size() == 100000);
  }
}

TEST_CASE("looks_like_jwt tells a signed token from an access token") {
  CHECK(looks_like_jwt("aGVsbG8.d29ybGQ.c2ln"));
  CHECK(looks_like_jwt("a.b.c"));
  CHECK(looks_like_jwt("-_.-_.-_"));
  CHECK(looks_like_jwt(sign_jwt({"g", 0, 1, Scope::Publish}, key())));
  CHECK_FALSE(looks_like_jwt(new_token()));
  CHECK_FALSE(looks_like_jwt("plain-access-token_43-characters-long-xxxxx"));
  for (const std::string bad :
       {"", ".", "..", "a.b", "a..c", ".b.c", "a.b.", "a.b.c.d", "a=.b.c", "a+.b.c", "a.b/.c",
        "a.b.c\n", " a.b.c", "a.\xc3\xa9.c"}) {
    CAPTURE(bad);
    CHECK_FALSE(looks_like_jwt(bad));
  }
  CHECK_FALSE(looks_like_jwt(std::string_view("a.b\0.c", 6)));
}
