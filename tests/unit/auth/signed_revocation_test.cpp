// Signed tokens end with their user (issue 13): refused once the user is deleted, re-created or
// its tokens rotated after the token's iat, and when they live longer than the configured
// maximum; connections they opened are revalidated the same way.
#include <doctest.h>

#include "auth/access_control.hpp"
#include "auth/jwt.hpp"
#include "auth/user_db.hpp"
#include "temp_dir.hpp"

using namespace hydrant::auth;

namespace {

const std::vector<uint8_t> kSecret(32, 7);

UserRecord bob(int64_t created, int64_t rotated) {
  UserRecord u;
  u.name = "bob";
  u.token_hash = hash_token("access");
  u.created = created;
  u.tokens_rotated = rotated;
  return u;
}

std::string jwt(int64_t iat, int64_t lifetime) {
  return sign_jwt(Claims{"bob", iat, iat + lifetime, Scope::Publish}, kSecret);
}

}  // namespace

TEST_CASE("signed tokens: revoked by rotation, deletion, re-creation; lifetime capped") {
  AccessOptions o;
  o.token_secret = kSecret;
  o.signed_token_max_lifetime = 3600;
  AccessControl ac(o);
  UserTable t;
  t.put(bob(1000, 0));
  ac.set_users(t);
  using O = AuthResult::Outcome;
  const int64_t now = 2000;
  auto ok = ac.authenticate("bob", jwt(1500, 3600), now);
  REQUIRE(ok.outcome == O::User);
  CHECK(ok.principal->issued_at == 1500);
  CHECK(ac.still_valid(*ok.principal));
  CHECK(ac.authenticate("bob", jwt(1500, 3601), now).outcome == O::Refused);  // too long-lived
  CHECK(ac.authenticate("bob", jwt(999, 3600), now).outcome == O::Refused);   // before creation

  t.put(bob(1000, 1600));  // rotated after the token was issued
  ac.set_users(t);
  CHECK_FALSE(ac.still_valid(*ok.principal));
  CHECK(ac.authenticate("bob", jwt(1500, 3600), now).outcome == O::Refused);
  auto fresh = ac.authenticate("bob", jwt(1600, 3600), now);
  REQUIRE(fresh.outcome == O::User);
  CHECK(ac.still_valid(*fresh.principal));

  t.erase("bob");
  ac.set_users(t);
  CHECK_FALSE(ac.still_valid(*fresh.principal));
  CHECK(ac.authenticate("bob", jwt(1600, 3600), now).outcome == O::Refused);
}

TEST_CASE("users file keeps tokens_rotated") {
  UserTable t;
  t.put(bob(1000, 1234));
  const hydrant::test::TempDir dir;  // removed even when a check fails
  save_users(users_path(dir.path), t);
  CHECK(load_users(users_path(dir.path)).find("bob")->tokens_rotated == 1234);
}
