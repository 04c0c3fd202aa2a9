// Signed tokens (HS256 JWT); see jwt.hpp. sign_jwt writes one fixed header and a four-claim
// payload; verify_jwt checks the shape, then the MAC in constant time, and only then decodes and
// parses (simdjson DOM) the header and the claims. No other JWS algorithms, no JWE, no "kid" or
// key rotation: every node holds the one shared secret. Errors are values (JwtError), never
// exceptions, because verify_jwt runs on the CONNECT path.
#include "auth/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <climits>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <simdjson.h>

#include "base/json_writer.hpp"
#include "auth/token.hpp"

namespace hydrant::auth {

namespace {

using Mac = std::array<uint8_t, 32>;

// nullopt when OpenSSL fails: an unchecked failure would leave a predictable (zero) MAC that
// verify_jwt would then accept.
std::optional<Mac> hmac_sha256(std::span<const uint8_t> key, std::string_view data) {
  Mac mac{};
  unsigned int len = 0;
  if (key.size() > static_cast<size_t>(INT_MAX)) return std::nullopt;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(),
           &len) == nullptr ||
      len != mac.size()) {
    return std::nullopt;
  }
  return mac;
}

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

const char* scope_name(Scope s) { return s == Scope::Publish ? "publish" : "subscribe"; }

bool parse_scope(std::string_view text, Scope& out) {
  if (text == "publish") {
    out = Scope::Publish;
  } else if (text == "subscribe") {
    out = Scope::Subscribe;
  } else {
    return false;
  }
  return true;
}

std::string sign_jwt(const Claims& claims, std::span<const uint8_t> secret) {
  const std::string header = R"({"alg":"HS256","typ":"JWT"})";
  JsonWriter payload_json;
  payload_json.begin_object()
      .member("sub", claims.subject)
      .member("iat", claims.issued_at)
      .member("exp", claims.expires_at)
      .member("scope", scope_name(claims.scope))
      .end_object();
  const std::string& payload = payload_json.str();
  std::string signing_input = base64url_encode(bytes_of(header)) + '.' +
                              base64url_encode(bytes_of(payload));
  const auto mac = hmac_sha256(secret, signing_input);
  // Issuing is control plane (the tokenserver endpoint): a broken OpenSSL is not recoverable.
  if (!mac) throw std::runtime_error("HMAC-SHA-256 failed (OpenSSL)");
  return signing_input + '.' + base64url_encode(*mac);
}

bool looks_like_jwt(std::string_view text) {
  const auto first = text.find('.');
  if (first == std::string_view::npos || first == 0) return false;
  const auto second = text.find('.', first + 1);
  if (second == std::string_view::npos || second == first + 1 || second + 1 >= text.size()) {
    return false;
  }
  if (text.find('.', second + 1) != std::string_view::npos) return false;
  for (char c : text) {
    if (c != '.' && !is_base64url_char(c)) return false;
  }
  return true;
}

namespace {

// Constant-time check of the MAC over "header.payload". A signature that does not decode or has
// another length is simply wrong; only equal lengths reach CRYPTO_memcmp.
bool signature_matches(std::string_view signing_input, std::string_view signature_part,
                       std::span<const uint8_t> secret) {
  const auto signature = base64url_decode(signature_part);
  const auto expected = hmac_sha256(secret, signing_input);
  return expected && signature && signature->size() == expected->size() &&
         CRYPTO_memcmp(signature->data(), expected->data(), expected->size()) == 0;
}

// The claims of a verified payload; the parser's views die with it, so strings are copied.
std::variant<Claims, JwtError> read_claims(simdjson::dom::element doc, int64_t now) {
  if (!doc.is_object()) return JwtError{"malformed payload"};
  Claims c;
  std::string_view sub;
  if (doc["sub"].get(sub) || sub.empty()) return JwtError{"missing subject"};
  c.subject = sub;
  if (doc["exp"].get(c.expires_at)) return JwtError{"missing expiry"};  // absent or not an integer
  if (c.expires_at <= now) return JwtError{"expired"};
  // iat is informative only: absent means 0, present must be an integer.
  if (auto iat = doc["iat"]; !iat.error() && iat.get(c.issued_at)) return JwtError{"bad iat"};
  std::string_view scope;
  if (doc["scope"].get(scope)) return JwtError{"missing scope"};
  if (!parse_scope(scope, c.scope)) return JwtError{"unknown scope"};
  return c;
}

}  // namespace

std::variant<Claims, JwtError> verify_jwt(std::string_view token, std::span<const uint8_t> secret,
                                          int64_t now) {
  if (!looks_like_jwt(token)) return JwtError{"malformed"};
  const auto first = token.find('.');
  const auto second = token.rfind('.');
  // The signature first: nothing in an unverified token is decoded or parsed, so neither the
  // header's alg nor a hostile payload can steer the checks.
  if (!signature_matches(token.substr(0, second), token.substr(second + 1), secret)) {
    return JwtError{"bad signature"};
  }
  const auto header = base64url_decode(token.substr(0, first));
  const auto payload = base64url_decode(token.substr(first + 1, second - first - 1));
  if (!header || !payload) return JwtError{"malformed"};

  // simdjson reads past the end of its input: parse(const std::string&) copies into a padded
  // buffer when the string lacks SIMDJSON_PADDING spare capacity.
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const std::string header_text(header->begin(), header->end());
  std::string_view alg;
  if (parser.parse(header_text).get(doc) || doc["alg"].get(alg)) return JwtError{"malformed header"};
  // Only HS256: "none" and every other algorithm are refused, even correctly MACed.
  if (alg != "HS256") return JwtError{"unsupported algorithm"};

  const std::string payload_text(payload->begin(), payload->end());
  if (parser.parse(payload_text).get(doc)) return JwtError{"malformed payload"};
  return read_claims(doc, now);
}

}  // namespace hydrant::auth
