// SessionHandle: the identity of one session that other threads may see: its id, its client id,
// and the worker (event loop) that currently owns it. Subscriptions in the Router point at it so
// that a publisher's thread knows where to hand each delivery. The owning worker may change
// (a client resuming its session on another thread); `worker` is updated under the
// SessionRegistry's lock and read without it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace hydrant::router {

using SessionId = uint64_t;

struct SessionHandle {
  SessionHandle(SessionId id, std::string client_id, uint32_t worker, std::string owner = {})
      : id(id), client_id(std::move(client_id)), owner(std::move(owner)), worker(worker) {}
  const SessionId id;
  const std::string client_id;
  // The registered user whose subscriptions these are (the connection's user when the session
  // was made; "" = anonymous): what max-subscriptions-per-user counts against.
  const std::string owner;
  std::atomic<uint32_t> worker;
  // The session's expiry is 0: it ends with its connection, so a takeover never resumes it
  // (MQTT 3.1.1 CleanSession=1, MQTT 5 Session Expiry 0). Set by the owning worker.
  std::atomic<bool> ends_with_connection{false};
};

using HandleRef = std::shared_ptr<SessionHandle>;

}  // namespace hydrant::router
