// The access model (DESIGN.md, "Access") as pure decisions: who may use which client identifier,
// publish where, subscribe to what. No state and no I/O, so every rule is unit-tested directly;
// the session layer asks these and turns a refusal into the protocol's answer.
//
//   anonymous   subscribe to exchange/..., '#', '+/...', and $SYS/broker/...; no publish; no
//               persistent session; no queue/ client identifier.
//   user U      the same, plus publish under exchange/U/<name>/...; persistent sessions named
//               queue/U/<name>; its own notices on $SYS/hydrant/notices/U.
//   signed      a user whose token has scope subscribe may not publish.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "codec/reason_code.hpp"

namespace hydrant::auth {

// Who is on the other end of a connection (null/absent for anonymous).
struct Principal {
  std::string user;              // the clientId
  bool may_publish = true;       // false for a signed token with scope subscribe
  int64_t expires_at = 0;        // seconds since the epoch; 0 = never (access tokens)
  uint64_t credential_epoch = 0; // the user's token generation when this connection authenticated
};

struct Decision {
  codec::ReasonCode code = codec::ReasonCode::Success;
  const char* why = "";
  bool ok() const { return code == codec::ReasonCode::Success; }
};

inline constexpr std::string_view kQueuePrefix = "queue/";
inline constexpr std::string_view kNoticesPrefix = "$SYS/hydrant/notices/";

// The owner of a queue identifier "queue/<owner>/<name>", or "" when `client_id` is not one
// (a malformed queue/ identifier also gives "": check_client_id refuses it).
std::string_view queue_owner(std::string_view client_id);

// CONNECT: may `who` (null = anonymous) use this client identifier, and keep its session?
// `persistent`: the client asked for a session that outlives the connection. On success,
// `keep_session` says whether the broker lets it (false: MQTT 5 gets Session Expiry 0 in
// CONNACK). A 3.1.1 client asking to persist where that is not allowed is refused instead,
// since 3.1.1 cannot be told (the caller decides from the version).
Decision check_client_id(const Principal* who, std::string_view client_id, bool persistent,
                         bool& keep_session);

// PUBLISH topic (after alias resolution and syntax checks).
Decision check_publish_topic(const Principal* who, std::string_view topic);

// SUBSCRIBE filter (validated; "$share/<group>/" already stripped by the caller).
Decision check_subscribe(const Principal* who, std::string_view filter);

}  // namespace hydrant::auth
