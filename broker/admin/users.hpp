// User administration on a data directory, shared by the subcommands and the admin API: each
// operation takes users.lock, reads users.json, changes it, writes it back atomically and leaves
// an audit line. A running broker picks the change up from the file.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/json_writer.hpp"
#include "auth/user_db.hpp"

namespace hydrant::admin {

// A refused operation: the message is for the person who asked; the kind picks the API's status
// (400 a bad value, 404 no such user or queue, 409 the name is taken or reserved).
struct AdminError : std::runtime_error {
  enum class Kind { Invalid, NotFound, Conflict };
  AdminError(const std::string& message, Kind kind) : std::runtime_error(message), kind(kind) {}
  Kind kind;
};

struct UserStore {
  std::string data_dir;
  std::vector<std::string> reserved_names;
  std::string actor;  // who acts, for the audit trail: "cli:<unix user>" or "api:<peer>"
  // Called with the users file's new serial after each change: the broker's admin API reloads
  // at once; a subcommand waits until the running broker reports that serial (runtime.json).
  std::function<void(uint64_t serial)> applied;
};

// Creates the user; returns its new access token (shown once, stored only as a hash).
std::string add_user(const UserStore& store, const std::string& name,
                     const std::vector<std::string>& owners);
// Replaces the user's token; connections made with the old one are closed by the broker.
std::string rotate_token(const UserStore& store, const std::string& name);
void delete_user(const UserStore& store, const std::string& name);
void set_owners(const UserStore& store, const std::string& name,
                const std::vector<std::string>& owners);
// Marks (or unmarks) one of the user's queues as exempt from deletion over its limit.
void set_queue_unbounded(const UserStore& store, const std::string& queue_client_id, bool unbounded);
auth::UserTable read_users(const UserStore& store);

bool valid_email(const std::string& address);

// One user as the admin API and `hydrant user list|show --json` print it (never its token hash):
// name, owners, created (unix seconds) and created_at (ISO 8601), token_generation,
// unbounded_queues.
void write_user_json(JsonWriter& w, const auth::UserRecord& u);

}  // namespace hydrant::admin
