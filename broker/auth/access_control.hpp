// AccessControl: the broker's runtime view of who may connect. It holds the current users table
// (an immutable snapshot swapped on reload, so every worker reads it without a lock of its own
// beyond taking the pointer), verifies access tokens and signed tokens, and counts anonymous
// connections per IP address. Thread-safe: every worker calls it at CONNECT.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <array>
#include <map>
#include <vector>

#include "auth/rules.hpp"
#include "auth/user_db.hpp"
#include "auth/failure_budget.hpp"
#include "util/peer_address.hpp"

namespace hydrant::auth {

struct AccessOptions {
  bool open = false;                     // no rules at all (development, conformance tests)
  uint32_t anon_max_connections_per_ip = 64;  // 0 = unlimited
  std::vector<uint8_t> token_secret;     // HS256 key of signed tokens; empty = none accepted
  int64_t signed_token_max_lifetime = 24 * 3600;  // seconds from iat to exp; longer are refused
  std::string users_file;                // reloaded by reload_users()
  FailureBudgetOptions auth_failures;    // failed authentications per address (issue 13)

  static AccessOptions open_mode() {
    AccessOptions o;
    o.open = true;
    return o;
  }
};

struct AuthResult {
  enum class Outcome : uint8_t { Anonymous, User, Refused } outcome = Outcome::Anonymous;
  std::unique_ptr<Principal> principal;  // for User
  const char* log_reason = "";           // for Refused: for the log only, never the client
};

class AccessControl {
 public:
  explicit AccessControl(AccessOptions options);

  bool open() const { return options_.open; }

  // CONNECT credentials: no user name = anonymous; user name + access token or signed token
  // (JWT with sub = user name) = that user. `now` in seconds since the epoch. Takes the same
  // time whether the user exists or not.
  AuthResult authenticate(std::optional<std::string_view> username,
                          std::optional<std::string_view> password, int64_t now) const;

  // False once the user is deleted or its access token rotated since `p` authenticated; for a
  // signed token, once the user is deleted or its tokens were rotated after the token's iat.
  bool still_valid(const Principal& p) const;

  // Whose `client_id` is (rules.hpp, claim_of_client_id) against the current users table.
  IdClaim claim_of(std::string_view client_id, const Principal* who) const;
  // A registered user who owns `client_id` (its queue's owner, else the shortest owning name),
  // or "" when nobody does.
  std::string owner_of(std::string_view client_id) const;

  // Re-reads the users file. A file that does not load leaves the current table in place and
  // returns its error; std::nullopt on success.
  std::optional<std::string> reload_users();
  std::shared_ptr<const UserTable> users() const;
  void set_users(UserTable table);

  // Anonymous connections per IP address: acquire before accepting one (false = over the cap),
  // release when it ends.
  bool acquire_anonymous(const util::PeerAddress& peer);
  void release_anonymous(const util::PeerAddress& peer);

  // Failed authentications per address (failure_budget.hpp): checked before the credentials
  // are, so an address out of budget is refused cheaply; `now_ms` is steady milliseconds.
  bool auth_budget_allows(const util::PeerAddress& peer, int64_t now_ms) {
    return auth_failures_.allows(peer, now_ms);
  }
  void record_auth_failure(const util::PeerAddress& peer, int64_t now_ms) {
    auth_failures_.record_failure(peer, now_ms);
  }
  // Whether a refused CONNECT from `peer` logs a line now (RefusalLogLimit::due).
  uint64_t refusal_log_due(const util::PeerAddress& peer, int64_t now_ms) {
    return refusal_log_.due(peer, now_ms);
  }

 private:
  AccessOptions options_;
  mutable std::mutex users_mutex_;
  std::shared_ptr<const UserTable> users_;
  std::mutex anon_mutex_;
  using IpKey = std::array<uint8_t, 17>;  // family + address; the port does not count
  static IpKey key_of(const util::PeerAddress& peer);
  std::map<IpKey, uint32_t> anon_per_ip_;
  FailureBudget auth_failures_;
  RefusalLogLimit refusal_log_;
};

}  // namespace hydrant::auth
