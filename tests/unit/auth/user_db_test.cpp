// The users file on a real temporary directory: round trip, refusals of a bad file, the secret
// files' creation and modes, and AccessControl's answers built on them.
#include <doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "auth/access_control.hpp"
#include "auth/user_db.hpp"
#include "temp_dir.hpp"

using namespace hydrant::auth;

namespace {

using hydrant::test::TempDir;

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

UserRecord user(const std::string& name, const std::string& token, uint64_t epoch = 1) {
  UserRecord u;
  u.name = name;
  u.owners = {name + "@example.org"};
  u.token_hash = hash_token(token);
  u.epoch = epoch;
  u.created = 1700000000;
  return u;
}

}  // namespace

TEST_CASE("users file: round trip, sorted, mode 0600") {
  TempDir dir;
  const auto path = users_path(dir.path);
  CHECK(load_users(path).users.empty());  // missing = empty
  UserTable t;
  t.put(user("zed", "t1"));
  t.put(user("alpha", "t2", 4));
  t.users.front().unbounded_queues = {"queue/alpha/q"};
  save_users(path, t);
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const auto back = load_users(path);
  REQUIRE(back.users.size() == 2);
  CHECK(back.users[0].name == "alpha");
  CHECK(back.users[0].epoch == 4);
  CHECK(back.users[0].unbounded_queues == std::vector<std::string>{"queue/alpha/q"});
  CHECK(equal_hashes(back.find("zed")->token_hash, hash_token("t1")));
  CHECK(back.find("nobody") == nullptr);
}

TEST_CASE("users file: a bad file is refused as a whole") {
  TempDir dir;
  const auto path = users_path(dir.path);
  for (const char* text :
       {"not json", "{\"users\": []}", "{\"format\": 2, \"users\": []}",
        "{\"format\": 1, \"users\": [{\"name\": \"a\"}]}",
        "{\"format\": 1, \"users\": [{\"name\": \"a\", \"token_sha256\": \"xyz\", \"epoch\": 1}]}",
        "{\"format\": 1, \"users\": {}}"}) {
    CAPTURE(text);
    write(path, text);
    CHECK_THROWS_AS(load_users(path), UserDbError);
  }
}

TEST_CASE("secrets: created once with mode 0600, then read back") {
  TempDir dir;
  bool created = false;
  const auto first = read_or_create_secret(dir.path + "/admin-token", 32, created);
  CHECK(created);
  CHECK(first.size() == 64);
  struct stat st {};
  REQUIRE(stat((dir.path + "/admin-token").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(read_or_create_secret(dir.path + "/admin-token", 32, created) == first);
  CHECK_FALSE(created);
}

TEST_CASE("AccessControl: tokens, reload, revocation, per-IP anonymous slots") {
  TempDir dir;
  UserTable t;
  t.put(user("gerrit", "secret-token"));
  save_users(users_path(dir.path), t);
  AccessOptions options;
  options.anon_max_connections_per_ip = 2;
  options.users_file = users_path(dir.path);
  AccessControl ac(options);
  REQUIRE_FALSE(ac.reload_users().has_value());

  using O = AuthResult::Outcome;
  CHECK(ac.authenticate(std::nullopt, std::nullopt, 0).outcome == O::Anonymous);
  CHECK(ac.authenticate(std::nullopt, "x", 0).outcome == O::Refused);
  CHECK(ac.authenticate("gerrit", "wrong", 0).outcome == O::Refused);
  CHECK(ac.authenticate("nobody", "secret-token", 0).outcome == O::Refused);
  auto ok = ac.authenticate("gerrit", "secret-token", 0);
  REQUIRE(ok.outcome == O::User);
  CHECK(ok.principal->user == "gerrit");
  CHECK(ac.still_valid(*ok.principal));

  // A broken file keeps the running table; a rotation invalidates older connections.
  write(users_path(dir.path), "{broken");
  CHECK(ac.reload_users().has_value());
  CHECK(ac.authenticate("gerrit", "secret-token", 0).outcome == O::User);
  t.put(user("gerrit", "new-token", 2));
  save_users(users_path(dir.path), t);
  REQUIRE_FALSE(ac.reload_users().has_value());
  CHECK_FALSE(ac.still_valid(*ok.principal));
  CHECK(ac.authenticate("gerrit", "new-token", 0).outcome == O::User);

  const auto a = *hydrant::util::PeerAddress::parse_ip("192.0.2.1");
  auto a2 = a;
  a2.port = 999;  // another port, same address
  const auto b = *hydrant::util::PeerAddress::parse_ip("2001:db8::1");
  CHECK(ac.acquire_anonymous(a));
  CHECK(ac.acquire_anonymous(a2));
  CHECK_FALSE(ac.acquire_anonymous(a));
  CHECK(ac.acquire_anonymous(b));
  ac.release_anonymous(a);
  CHECK(ac.acquire_anonymous(a));  // the freed slot
  CHECK_FALSE(ac.acquire_anonymous(a2));
}
