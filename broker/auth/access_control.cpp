// AccessControl: credentials and per-IP counting. See access_control.hpp.
#include "auth/access_control.hpp"

#include "auth/jwt.hpp"
#include "util/log.hpp"
#include "util/log_untrusted.hpp"

namespace hydrant::auth {

AccessControl::AccessControl(AccessOptions options)
    : options_(std::move(options)),
      users_(std::make_shared<const UserTable>()),
      auth_failures_(options_.auth_failures) {}

AuthResult AccessControl::authenticate(std::optional<std::string_view> username,
                                       std::optional<std::string_view> password,
                                       int64_t now) const {
  AuthResult r;
  if (!username) {
    // A password without a user name is a protocol error the codec already refuses in 3.1.1;
    // in MQTT 5 it means nothing to us, so it is not honoured either way.
    if (password) {
      r.outcome = AuthResult::Outcome::Refused;
      r.log_reason = "password without a user name";
    }
    return r;
  }
  const std::string_view secret = password.value_or("");
  r.outcome = AuthResult::Outcome::Refused;
  if (looks_like_jwt(secret)) {
    if (options_.token_secret.empty()) {
      r.log_reason = "signed tokens are not configured";
      return r;
    }
    auto verified = verify_jwt(secret, options_.token_secret, now);
    if (auto* err = std::get_if<JwtError>(&verified)) {
      r.log_reason = "signed token refused";
      log::debug("event=signed-token-refused user=\"{}\" why=\"{}\"", log::untrusted(*username),
                 err->message);
      return r;
    }
    auto& claims = std::get<Claims>(verified);
    if (claims.subject != *username) {
      r.log_reason = "signed token for another user";
      return r;
    }
    if (claims.expires_at - claims.issued_at > options_.signed_token_max_lifetime) {
      r.log_reason = "signed token lives longer than signed-token-max-hours";
      return r;
    }
    // The signature proves who signed it, not that the user still exists or that its tokens
    // were not rotated since (issue 13).
    const auto table = users();
    const UserRecord* user = table->find(*username);
    if (!user || claims.issued_at < signed_tokens_valid_from(*user)) {
      r.log_reason = "signed token revoked (user deleted or tokens rotated)";
      return r;
    }
    r.outcome = AuthResult::Outcome::User;
    r.principal = std::make_unique<Principal>(Principal{std::string(*username),
                                                        claims.scope == Scope::Publish,
                                                        claims.expires_at, 0, claims.issued_at});
    return r;
  }
  // Hash first and compare against a stand-in for an unknown user, so that the time taken does
  // not tell whether the user exists.
  const TokenHash presented = hash_token(secret);
  const auto table = users();
  const UserRecord* user = table->find(*username);
  static const TokenHash kNobody = hash_token("no such user");
  const bool match = equal_hashes(presented, user ? user->token_hash : kNobody);
  if (!user || !match) {
    r.log_reason = "wrong user name or token";
    return r;
  }
  r.outcome = AuthResult::Outcome::User;
  r.principal = std::make_unique<Principal>(Principal{user->name, true, 0, user->epoch});
  return r;
}

bool AccessControl::still_valid(const Principal& p) const {
  const auto table = users();
  const UserRecord* user = table->find(p.user);
  if (!user) return false;
  if (p.credential_epoch == 0) return p.issued_at >= signed_tokens_valid_from(*user);  // signed
  return user->epoch == p.credential_epoch;
}

IdClaim AccessControl::claim_of(std::string_view client_id, const Principal* who) const {
  const auto table = users();
  return claim_of_client_id(client_id, who,
                            [&](std::string_view name) { return table->find(name) != nullptr; });
}

std::string AccessControl::owner_of(std::string_view client_id) const {
  if (const auto queue = queue_owner(client_id); !queue.empty()) return std::string(queue);
  const auto table = users();
  std::string first;
  claim_of_client_id(client_id, nullptr, [&](std::string_view name) {
    const bool is_user = table->find(name) != nullptr;
    if (is_user && first.empty()) first = name;
    return is_user;
  });
  return first;
}

std::optional<std::string> AccessControl::reload_users() {
  if (options_.users_file.empty()) return std::nullopt;
  try {
    set_users(load_users(options_.users_file));
  } catch (const UserDbError& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

std::shared_ptr<const UserTable> AccessControl::users() const {
  std::lock_guard lock(users_mutex_);
  return users_;
}

void AccessControl::set_users(UserTable table) {
  auto next = std::make_shared<const UserTable>(std::move(table));
  std::lock_guard lock(users_mutex_);
  users_ = std::move(next);
}

AccessControl::IpKey AccessControl::key_of(const util::PeerAddress& peer) {
  IpKey key{};
  key[0] = static_cast<uint8_t>(peer.family);
  std::copy(peer.bytes.begin(), peer.bytes.end(), key.begin() + 1);
  return key;
}

bool AccessControl::acquire_anonymous(const util::PeerAddress& peer) {
  std::lock_guard lock(anon_mutex_);
  uint32_t& n = anon_per_ip_[key_of(peer)];
  if (options_.anon_max_connections_per_ip && n >= options_.anon_max_connections_per_ip) {
    if (n == 0) anon_per_ip_.erase(key_of(peer));
    return false;
  }
  ++n;
  return true;
}

void AccessControl::release_anonymous(const util::PeerAddress& peer) {
  std::lock_guard lock(anon_mutex_);
  auto it = anon_per_ip_.find(key_of(peer));
  if (it == anon_per_ip_.end()) return;
  if (--it->second == 0) anon_per_ip_.erase(it);
}

}  // namespace hydrant::auth
