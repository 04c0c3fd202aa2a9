// The cluster's users without an engine (cluster/user_sync.hpp): the bucket's keys, the merge of
// a node's users file with the bucket at start, and what a local change sends to the bucket.
#include <doctest.h>

#include <set>
#include <string>

#include "auth/user_db.hpp"
#include "cluster/user_sync.hpp"

using namespace hydrant;
using namespace hydrant::cluster;

namespace {

auth::UserRecord user(const std::string& name, int64_t created = 1700000000, uint64_t epoch = 1,
                      int64_t rotated = 0) {
  auth::UserRecord u;
  u.name = name;
  u.owners = {name + "@example.org"};
  u.token_hash = auth::hash_token("token of " + name + std::to_string(epoch));
  u.epoch = epoch;
  u.created = created;
  u.tokens_rotated = rotated;
  return u;
}

auth::UserTable table_of(std::initializer_list<auth::UserRecord> users, uint64_t serial = 7) {
  auth::UserTable t;
  for (const auto& u : users) t.put(u);
  t.serial = serial;
  return t;
}

BucketUsers bucket_of(std::initializer_list<auth::UserRecord> users) {
  BucketUsers b;
  uint64_t revision = 0;
  for (const auto& u : users) b[user_key(u.name)] = BucketUser{u, ++revision, 0};
  return b;
}

std::set<std::string> names(const std::vector<auth::UserRecord>& users) {
  std::set<std::string> out;
  for (const auto& u : users) out.insert(u.name);
  return out;
}

// What NATS accepts as a key: [-/_=.A-Za-z0-9]+, not starting or ending with '.'.
bool valid_key(const std::string& k) {
  if (k.empty() || k.front() == '.' || k.back() == '.') return false;
  for (unsigned char c : k) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '/' || c == '_' || c == '=' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("user keys: readable, valid for NATS, one-to-one") {
  CHECK(user_key("gerrit") == "gerrit");
  CHECK(user_key("hg-pushes2") == "hg-pushes2");
  CHECK(user_key("a.b_c") == "a_2eb_5fc");
  CHECK(user_key("a.") == "a_2e");
  std::set<std::string> keys;
  const std::string names[] = {"a.b", "a_2eb", "a_b", "a__5fb", "x", "X", "ü", "a b", "a/b", "_"};
  for (const auto& n : names) {
    const std::string k = user_key(n);
    CHECK_MESSAGE(valid_key(k), n, " -> ", k);
    CHECK_MESSAGE(keys.insert(k).second, n, " -> ", k, " twice");
  }
  std::string every;
  for (int b = 1; b < 256; ++b) every += static_cast<char>(b);
  CHECK(valid_key(user_key(every)));
}

TEST_CASE("merge at start: the first node seeds the bucket") {
  const auto local = table_of({user("alice"), user("bob")});
  const UserMerge m = merge_users(local, {});
  CHECK(names(m.to_put) == std::set<std::string>{"alice", "bob"});
  CHECK(m.table.users == local.users);
  CHECK(m.table.serial == local.serial);
  CHECK(m.dropped.empty());
  CHECK(m.from_bucket == 0);
}

TEST_CASE("merge at start: a new node gets the bucket's users") {
  const auto bucket = bucket_of({user("alice"), user("bob")});
  const UserMerge m = merge_users(table_of({}), bucket);
  CHECK(m.to_put.empty());
  REQUIRE(m.table.users.size() == 2);
  CHECK(m.table.users[0] == *bucket.at("alice").record);
  CHECK(m.from_bucket == 2);
}

TEST_CASE("merge at start: the bucket wins unless the file's record is newer") {
  // Rotated on another node while this one was away: the bucket's (epoch 2) is taken.
  {
    const UserMerge m = merge_users(table_of({user("alice")}), bucket_of({user("alice", 1700000000, 2, 1700000500)}));
    CHECK(m.to_put.empty());
    CHECK(m.table.find("alice")->epoch == 2);
    CHECK(m.from_bucket == 1);
  }
  // Rotated in this node's file (the broker stopped): the file's is put.
  {
    const UserMerge m = merge_users(table_of({user("alice", 1700000000, 3, 1700000900)}),
                                    bucket_of({user("alice", 1700000000, 2, 1700000500)}));
    CHECK(names(m.to_put) == std::set<std::string>{"alice"});
    CHECK(m.table.find("alice")->epoch == 3);
  }
  // Deleted and created again elsewhere (later `created`, epoch back to 1): the bucket's.
  {
    const UserMerge m = merge_users(table_of({user("alice", 1700000000, 4, 1700000900)}),
                                    bucket_of({user("alice", 1700009999, 1)}));
    CHECK(m.to_put.empty());
    CHECK(m.table.find("alice")->created == 1700009999);
  }
  // The same record: nothing to do.
  {
    const UserMerge m = merge_users(table_of({user("alice")}), bucket_of({user("alice")}));
    CHECK(m.to_put.empty());
    CHECK(m.from_bucket == 0);
  }
}

TEST_CASE("merge at start: a user deleted in the bucket stays deleted, unless made again here") {
  BucketUsers bucket;
  bucket[user_key("alice")] = BucketUser{std::nullopt, 5, 1700001000};
  bucket[user_key("bob")] = BucketUser{std::nullopt, 6, 1700001000};
  bucket[user_key("carol")] = BucketUser{std::nullopt, 7, 1700001000};
  const UserMerge m = merge_users(
      table_of({user("alice", 1700000000), user("bob", 1700002000),
                user("carol", 1700000000, 2, 1700003000)}),
      bucket);
  CHECK(m.dropped == std::vector<std::string>{"alice"});     // deleted after it was made
  CHECK(names(m.to_put) == std::set<std::string>{"bob", "carol"});  // made or rotated after
  CHECK(!m.table.find("alice"));
  CHECK(m.table.find("bob"));
}

TEST_CASE("local changes: only what differs from the bucket") {
  auto bucket = bucket_of({user("alice"), user("bob")});
  SUBCASE("nothing changed: nothing sent (a change from the bucket written here is no echo)") {
    const UserChanges c = local_changes(bucket, table_of({user("alice"), user("bob")}));
    CHECK(c.put.empty());
    CHECK(c.deleted.empty());
  }
  SUBCASE("a rotation, a new user, a deletion") {
    const UserChanges c = local_changes(
        bucket, table_of({user("alice", 1700000000, 2, 1700000100), user("dora")}));
    CHECK(names(c.put) == std::set<std::string>{"alice", "dora"});
    CHECK(c.deleted == std::vector<std::string>{user_key("bob")});
  }
  SUBCASE("a user deleted in the bucket and absent here is not deleted again") {
    bucket[user_key("bob")] = BucketUser{std::nullopt, 9, 1700001000};
    const UserChanges c = local_changes(bucket, table_of({user("alice")}));
    CHECK(c.put.empty());
    CHECK(c.deleted.empty());
  }
}

TEST_CASE("one user's JSON, as the bucket holds it, reads back the same") {
  auth::UserRecord u = user("alice", 1700000000, 3, 1700000500);
  u.owners = {"a@example.org", "b@example.org"};
  u.unbounded_queues = {"queue/alice/q"};
  const std::string json = auth::user_json(u);
  CHECK(json.find("\"token_sha256\":\"" + auth::to_hex(u.token_hash) + "\"") != std::string::npos);
  CHECK(auth::parse_user_json(json, "test") == u);
  CHECK_THROWS_AS(auth::parse_user_json("{\"name\":\"x\"}", "test"), auth::UserDbError);
  CHECK_THROWS_AS(auth::parse_user_json("[1]", "test"), auth::UserDbError);
  CHECK_THROWS_AS(auth::parse_user_json("not json", "test"), auth::UserDbError);
}
