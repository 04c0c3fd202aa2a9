// The access model (README.md, "Access: Pulse on MQTT") as pure decisions: who may use which client identifier,
// publish where, subscribe to what. No state and no I/O, so every rule is unit-tested directly;
// the session layer asks these and turns a refusal into the protocol's answer.
//
//   anonymous   subscribe to exchange/..., '#', '+/...', and $SYS/broker/...; no publish; no
//               persistent session; no queue/ client identifier and no identifier of a user's;
//               never resumes a session (each CONNECT starts a fresh one).
//   user U      the same, plus publish under exchange/U/<name>/...; persistent sessions named
//               queue/U/<name>; its own notices on $SYS/hydrant/notices/U; the identifiers U,
//               U-... and U/... (issue 13), which nobody else may use.
//   signed      a user whose token has scope subscribe may not publish.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/reason_code.hpp"

namespace hydrant::auth {

// Who is on the other end of a connection (null/absent for anonymous).
struct Principal {
  std::string user;              // the clientId
  bool may_publish = true;       // false for a signed token with scope subscribe
  int64_t expires_at = 0;        // seconds since the epoch; 0 = never (access tokens)
  uint64_t credential_epoch = 0; // the user's token generation when this connection authenticated
  int64_t issued_at = 0;         // a signed token's iat: revoked by a later rotation (issue 13)
};

struct Decision {
  ReasonCode code = ReasonCode::Success;
  const char* why = "";
  bool ok() const { return code == ReasonCode::Success; }
};

inline constexpr std::string_view kQueuePrefix = "queue/";
inline constexpr std::string_view kNoticesPrefix = "$SYS/hydrant/notices/";

// The owner of a queue identifier "queue/<owner>/<name>", or "" when `client_id` is not one
// (a malformed queue/ identifier also gives "": check_client_id refuses it).
std::string_view queue_owner(std::string_view client_id);

// Whose a client identifier is (issue 13): a registered user U owns U itself and every
// identifier that starts with "U-" or "U/" (the adapters connect as "<clientId>-<adapter>").
// Names overlap ("bob" and "bob-ci" both own "bob-ci-x"): then any of the owners may use it.
enum class IdClaim : uint8_t {
  Free,   // no registered user owns it
  Mine,   // `who` is one of its owners
  Other,  // owned, and `who` (or an anonymous client) is none of its owners
};

// Looks up each candidate owner: the prefix before every '-' and '/' and the whole identifier,
// stopping at the first '/' and at the longest possible user name, so at most 65 calls of
// `is_user` however long the identifier is. `is_user(name)` says whether a user is registered.
template <class IsUser>
IdClaim claim_of_client_id(std::string_view client_id, const Principal* who, IsUser&& is_user);

// CONNECT: may `who` (null = anonymous) use this client identifier, and keep its session?
// `claim` comes from claim_of_client_id (queue/ identifiers have their own rule and ignore it).
// `persistent`: the client asked for a session that outlives the connection. On success,
// `keep_session` says whether the broker lets it (false: MQTT 5 gets Session Expiry 0 in
// CONNACK). A 3.1.1 client asking to persist where that is not allowed is refused instead,
// since 3.1.1 cannot be told (the caller decides from the version).
Decision check_client_id(const Principal* who, std::string_view client_id, bool persistent,
                         bool& keep_session, IdClaim claim = IdClaim::Free);

// May this CONNECT resume a session that already exists under its identifier (clean start 0)?
// Only a user on an identifier it owns (its queues included): anonymous clients, and users on
// identifiers nobody owns, always start a fresh session, so nobody inherits a session another
// connection made (issue 13).
bool may_resume_session(const Principal* who, std::string_view client_id, IdClaim claim);

// PUBLISH topic (after alias resolution and syntax checks).
Decision check_publish_topic(const Principal* who, std::string_view topic);

// SUBSCRIBE filter (validated; "$share/<group>/" already stripped by the caller).
Decision check_subscribe(const Principal* who, std::string_view filter);

// ---- implementation of the template above ----

inline constexpr size_t kMaxUserName = 64;  // pulse::valid_client_id's limit

template <class IsUser>
IdClaim claim_of_client_id(std::string_view client_id, const Principal* who, IsUser&& is_user) {
  bool owned = false;
  // True when `name` is a user and it is `who`.
  auto owner_is_caller = [&](std::string_view name) {
    if (!is_user(name)) return false;
    owned = true;
    return who != nullptr && who->user == name;
  };
  const size_t end = std::min(client_id.size(), kMaxUserName + 1);
  for (size_t i = 1; i < end; ++i) {
    const char c = client_id[i];
    if (c != '-' && c != '/') continue;
    if (owner_is_caller(client_id.substr(0, i))) return IdClaim::Mine;
    if (c == '/') return owned ? IdClaim::Other : IdClaim::Free;  // user names have no '/'
  }
  if (client_id.size() <= kMaxUserName && owner_is_caller(client_id)) return IdClaim::Mine;
  return owned ? IdClaim::Other : IdClaim::Free;
}

}  // namespace hydrant::auth
