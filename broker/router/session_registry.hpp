// SessionRegistry: client identifier -> session, for the whole broker. Consulted only when a
// client connects and when a session ends, never per message, so one mutex is enough.
// It decides takeovers: who owns a client id now, and where the previous owner lives.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "router/session_handle.hpp"

namespace hydrant::router {

class SessionRegistry {
 public:
  struct Claim {
    HandleRef handle;    // the session the new connection gets
    HandleRef previous;  // an existing session for this client id, if any
    bool resumed = false;  // true: `handle` is `previous`, to be continued (clean start = 0)
    uint32_t previous_worker = 0;  // where `previous` lived before this claim
  };

  // Called on CONNECT. With clean_start (or no existing session) a new session replaces any
  // existing one, which the caller must end; so does a session that ends with its connection
  // (SessionHandle::ends_with_connection), which a takeover cannot resume. Otherwise the existing session is resumed and its
  // worker becomes `worker`; the caller must fetch it from previous_worker if that differs.
  // `owner`: the user a new session is made for ("" = anonymous); a resumed one keeps its own.
  Claim claim(std::string_view client_id, uint32_t worker, bool clean_start,
              std::string_view owner = {});

  // Called by the owning worker when a session ends. Removes the entry only if it still maps to
  // `handle` and `handle` still belongs to `worker` (a concurrent resume elsewhere wins); returns
  // whether the session may end.
  bool release(const SessionHandle& handle, uint32_t worker);

  size_t size() const;
  // The session that owns this client id now, or null (the admin API's delete).
  HandleRef find(std::string_view client_id) const;

 private:
  mutable std::mutex mutex_;
  // Keyed by a view of the handle's own client_id: the id is stored once.
  std::unordered_map<std::string_view, HandleRef> by_client_id_;
  SessionId next_id_ = 1;
};

}  // namespace hydrant::router
