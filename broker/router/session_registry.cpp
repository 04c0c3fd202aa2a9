// SessionRegistry. See session_registry.hpp.
#include "router/session_registry.hpp"

namespace hydrant::router {

SessionRegistry::Claim SessionRegistry::claim(std::string_view client_id, uint32_t worker,
                                              bool clean_start, std::string_view owner) {
  std::lock_guard lock(mutex_);
  Claim claim;
  auto it = by_client_id_.find(client_id);
  if (it != by_client_id_.end()) {
    claim.previous = it->second;
    claim.previous_worker = claim.previous->worker.load();
  }
  if (claim.previous && !clean_start && !claim.previous->ends_with_connection.load()) {
    claim.handle = claim.previous;
    claim.resumed = true;
    claim.handle->worker.store(worker);
    return claim;
  }
  claim.handle = std::make_shared<SessionHandle>(next_id_++, std::string(client_id), worker,
                                                 std::string(owner));
  // The key views the client id inside the handle it maps to, so replace key and value together.
  if (it != by_client_id_.end()) by_client_id_.erase(it);
  by_client_id_.emplace(claim.handle->client_id, claim.handle);
  return claim;
}

bool SessionRegistry::release(const SessionHandle& handle, uint32_t worker) {
  std::lock_guard lock(mutex_);
  if (handle.worker.load() != worker) return false;
  auto it = by_client_id_.find(handle.client_id);
  if (it != by_client_id_.end() && it->second.get() == &handle) by_client_id_.erase(it);
  return true;
}

size_t SessionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return by_client_id_.size();
}

HandleRef SessionRegistry::find(std::string_view client_id) const {
  std::lock_guard lock(mutex_);
  auto it = by_client_id_.find(client_id);
  return it == by_client_id_.end() ? nullptr : it->second;
}

}  // namespace hydrant::router
