// The users file: every publisher (clientId) with its owners' e-mail addresses, the SHA-256 of
// its access token and the token's generation, kept as <data>/users.json. The hydrant admin
// subcommands and the admin API change it (read-modify-write under users.lock, then an atomic
// rename); a running broker watches the file and reloads it, so changes apply at once. A file
// that does not parse is refused as a whole: the broker keeps the table it has (never fails open).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "auth/token.hpp"

namespace hydrant::auth {

struct UserRecord {
  std::string name;                       // the clientId
  std::vector<std::string> owners;        // e-mail addresses, for notices
  TokenHash token_hash{};                 // SHA-256 of the access token
  uint64_t epoch = 1;                     // +1 on every rotation: older connections are closed
  int64_t created = 0;                    // seconds since the epoch
  int64_t tokens_rotated = 0;             // last token rotation, seconds since the epoch; 0 = never
  std::vector<std::string> unbounded_queues;  // queue client ids exempt from deletion

  // The same record (the cluster's comparison of copies; no credential check: the hashes are
  // compared in ordinary time).
  friend bool operator==(const UserRecord&, const UserRecord&) = default;
};

// Signed tokens issued before this (seconds since the epoch) are refused: those of an earlier
// user of the same name, and those that a rotation revoked.
inline int64_t signed_tokens_valid_from(const UserRecord& u) {
  return u.tokens_rotated > u.created ? u.tokens_rotated : u.created;
}

struct UserTable {
  std::vector<UserRecord> users;  // sorted by name
  // +1 on every save: a command waits until the running broker reports it loaded this one.
  uint64_t serial = 0;

  const UserRecord* find(std::string_view name) const;
  UserRecord* find(std::string_view name);
  void put(UserRecord record);     // inserts or replaces, keeping the order
  bool erase(std::string_view name);
};

struct UserDbError : std::runtime_error {
  using runtime_error::runtime_error;
};

inline constexpr const char* kUsersFile = "users.json";

// Reads `path`; a missing file is an empty table. Throws UserDbError naming what is wrong.
UserTable load_users(const std::string& path);
// Writes the table to `path` atomically (a temporary file, fsync, rename, fsync of the
// directory), mode 0600. Throws UserDbError.
void save_users(const std::string& path, const UserTable& table);

std::string users_path(const std::string& data_dir);

// One user as a JSON object, as the users file writes it (a cluster keeps one per key in its
// users bucket, cluster/user_sync.hpp), and read back. `where` names it in the error; throws
// UserDbError.
std::string user_json(const UserRecord& u);
UserRecord parse_user_json(std::string_view text, const std::string& where);

// An exclusive lock on <data>/users.lock for a read-modify-write of the users file, so that two
// admin commands (or the admin API and a command) never lose each other's change.
class UsersLock {
 public:
  explicit UsersLock(const std::string& data_dir);  // blocks until held; throws UserDbError
  ~UsersLock();
  UsersLock(const UsersLock&) = delete;
  UsersLock& operator=(const UsersLock&) = delete;

 private:
  int fd_ = -1;
};

// A secret file of `bytes` random bytes stored as hex (the admin token, the signing key): read
// it, or create it with mode 0600 when missing. Throws UserDbError.
std::string read_or_create_secret(const std::string& path, size_t bytes, bool& created);

}  // namespace hydrant::auth
