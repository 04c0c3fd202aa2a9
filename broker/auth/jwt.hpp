// Signed tokens, as Mozilla's tokenserver hands them out: a short-lived JWT (RFC 7519) signed with
// HS256 (HMAC-SHA-256, OpenSSL) over a secret every node shares, so any node verifies one without
// a lookup. Claims: sub (the clientId), iat, exp (seconds since the epoch) and scope
// ("publish" or "subscribe"). Only {"alg":"HS256","typ":"JWT"} headers are accepted.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace hydrant::auth {

enum class Scope : uint8_t { Publish, Subscribe };

const char* scope_name(Scope s);               // "publish", "subscribe"
bool parse_scope(std::string_view text, Scope& out);

struct Claims {
  std::string subject;     // sub
  int64_t issued_at = 0;   // iat
  int64_t expires_at = 0;  // exp
  Scope scope = Scope::Publish;
};

// header.payload.signature, each base64url without padding.
std::string sign_jwt(const Claims& claims, std::span<const uint8_t> secret);

// Why a token was refused, for the log (never sent to the client).
struct JwtError {
  std::string message;  // "malformed", "unsupported algorithm", "bad signature", "expired", ...
};

// Checks the structure, the header (alg HS256 only: "none" and every other algorithm are
// refused), the signature (constant-time comparison) before anything in the payload is trusted,
// then the claims: sub present and non-empty, exp present and > now, scope known.
std::variant<Claims, JwtError> verify_jwt(std::string_view token, std::span<const uint8_t> secret,
                                          int64_t now);

// True when the text has the shape of a JWT (three base64url parts separated by two dots), so
// the broker can tell a signed token from an access token before verifying it.
bool looks_like_jwt(std::string_view text);

}  // namespace hydrant::auth
