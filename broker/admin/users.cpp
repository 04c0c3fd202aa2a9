// User administration on a data directory; see users.hpp.
#include "admin/users.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "admin/audit.hpp"
#include "auth/rules.hpp"
#include "pulse/mapping.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::admin {

namespace {

void check_owners(const std::vector<std::string>& owners) {
  if (owners.empty()) {
    throw AdminError("a user needs at least one owner e-mail address (--owner EMAIL)",
                     AdminError::Kind::Invalid);
  }
  for (const auto& o : owners) {
    if (!valid_email(o)) throw AdminError(fmt::format("'{}' is not an e-mail address", o), AdminError::Kind::Invalid);
  }
}

// Runs `change` on the table under the lock, then saves it.
// Runs `change` on the table under the lock, saves it, then lets the running broker (if any)
// apply it before returning, so that the change has taken effect when the caller goes on.
template <class Change>
void modify(const UserStore& store, Change&& change) {
  uint64_t serial = 0;
  {
    auth::UsersLock lock(store.data_dir);
    const std::string path = auth::users_path(store.data_dir);
    auth::UserTable table = auth::load_users(path);
    change(table);
    serial = ++table.serial;
    auth::save_users(path, table);
  }
  if (store.applied) store.applied(serial);
}

auth::UserRecord& existing(auth::UserTable& table, const std::string& name) {
  auto* u = table.find(name);
  if (!u) throw AdminError(fmt::format("no user '{}'", name), AdminError::Kind::NotFound);
  return *u;
}

}  // namespace

bool valid_email(const std::string& address) {
  const auto at = address.find('@');
  return at != std::string::npos && at > 0 && at + 1 < address.size() &&
         address.find('@', at + 1) == std::string::npos && address.size() <= 254 &&
         std::none_of(address.begin(), address.end(), [](char c) {
           return static_cast<unsigned char>(c) <= ' ' || c == ',' || c == '"' || c == '<' ||
                  c == '>';
         });
}

std::string add_user(const UserStore& store, const std::string& name,
                     const std::vector<std::string>& owners) {
  if (!pulse::valid_client_id(name)) {
    throw AdminError(fmt::format(
        "'{}' is not a valid clientId: a letter, then letters, digits, '.', '_' or '-' "
        "(64 at most)", name), AdminError::Kind::Invalid);
  }
  if (std::find(store.reserved_names.begin(), store.reserved_names.end(), name) !=
      store.reserved_names.end()) {
    throw AdminError(fmt::format("'{}' is a reserved name", name), AdminError::Kind::Conflict);
  }
  check_owners(owners);
  std::string token = auth::new_token();
  modify(store, [&](auth::UserTable& table) {
    if (table.find(name)) throw AdminError(fmt::format("user '{}' already exists", name), AdminError::Kind::Conflict);
    auth::UserRecord u;
    u.name = name;
    u.owners = owners;
    u.token_hash = auth::hash_token(token);
    u.created = util::unix_seconds();
    table.put(std::move(u));
  });
  audit(store.data_dir, store.actor, "user-add", name, fmt::format("owners={}", fmt::join(owners, ",")));
  return token;
}

std::string rotate_token(const UserStore& store, const std::string& name) {
  std::string token = auth::new_token();
  modify(store, [&](auth::UserTable& table) {
    auto& u = existing(table, name);
    u.token_hash = auth::hash_token(token);
    ++u.epoch;
    u.tokens_rotated = util::unix_seconds();  // signed tokens issued before are revoked too
  });
  audit(store.data_dir, store.actor, "token-rotate", name);
  return token;
}

void delete_user(const UserStore& store, const std::string& name) {
  modify(store, [&](auth::UserTable& table) {
    existing(table, name);
    table.erase(name);
  });
  audit(store.data_dir, store.actor, "user-delete", name);
}

void set_owners(const UserStore& store, const std::string& name,
                const std::vector<std::string>& owners) {
  check_owners(owners);
  modify(store, [&](auth::UserTable& table) { existing(table, name).owners = owners; });
  audit(store.data_dir, store.actor, "user-owners", name, fmt::format("owners={}", fmt::join(owners, ",")));
}

void set_queue_unbounded(const UserStore& store, const std::string& queue, bool unbounded) {
  const std::string owner(auth::queue_owner(queue));
  if (owner.empty()) throw AdminError(fmt::format("'{}' is not a queue/<clientId>/<name>", queue),
                               AdminError::Kind::Invalid);
  modify(store, [&](auth::UserTable& table) {
    auto& list = existing(table, owner).unbounded_queues;
    auto it = std::find(list.begin(), list.end(), queue);
    if (unbounded && it == list.end()) list.push_back(queue);
    if (!unbounded && it != list.end()) list.erase(it);
  });
  audit(store.data_dir, store.actor, unbounded ? "queue-unbounded" : "queue-bounded", queue);
}

void write_user_json(JsonWriter& w, const auth::UserRecord& u) {
  w.begin_object().member("name", u.name).key("owners").begin_array();
  for (const auto& o : u.owners) w.value(o);
  w.end_array()
      .member("created", u.created)
      .member("created_at", util::iso8601_of_unix(u.created))
      .member("token_generation", u.epoch)
      .key("unbounded_queues")
      .begin_array();
  for (const auto& q : u.unbounded_queues) w.value(q);
  w.end_array().end_object();
}

auth::UserTable read_users(const UserStore& store) {
  return auth::load_users(auth::users_path(store.data_dir));
}

}  // namespace hydrant::admin
