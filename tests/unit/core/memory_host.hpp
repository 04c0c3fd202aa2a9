// MemoryHost: a core::SessionHost with no sockets, for unit tests. Its connections are the
// ClientLinks a test plugs in; closing and waking are recorded; the test runs what a transport's
// loop would (drain the inbox, expire sessions) and sets the clock. Everything else — sessions,
// takeover, migration, routing, wills — is core's own code.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/broker.hpp"
#include "core/session_host.hpp"

namespace hydrant::core::test {

class MemoryHost final : public SessionHost {
 public:
  using SessionHost::SessionHost;
  using SessionHost::session_count;
  using SessionHost::session_of;

  void start() override {}
  void join() override {}
  void wants_write(session::ClientLink&) override { ++wants_write_calls; }
  bool publish(const fanout::MessageRef& msg, std::span<const std::string> cc = {}) override {
    published.push_back(msg);
    return SessionHost::publish(msg, cc);
  }

  void plug(session::ClientLink& link) { links_[link.conn_id()] = &link; }
  void run_tasks() { drain_inbox(); }
  void expire() { expire_sessions(); }
  fanout::Clock::time_point& clock() { return now_; }
  session::Limits& limits_ref() { return limits_; }
  bool was_closed(uint64_t conn_id) const {
    for (uint64_t id : closed_) {
      if (id == conn_id) return true;
    }
    return false;
  }

  std::vector<fanout::MessageRef> published;  // every message routed from this host, in order
  int wants_write_calls = 0;
  int wakes = 0;

 protected:
  session::ClientLink* link_for(uint64_t id) override {
    auto it = links_.find(id);
    return it == links_.end() ? nullptr : it->second;
  }
  void close_link(uint64_t id) override { closed_.push_back(id); }
  void wake() override { ++wakes; }

 private:
  std::unordered_map<uint64_t, session::ClientLink*> links_;
  std::vector<uint64_t> closed_;
};

// A Broker with `count` MemoryHosts (as `count` workers would be), sys topics off; `store`, when
// given, is its message log.
struct MemoryBroker {
  explicit MemoryBroker(uint32_t count, std::shared_ptr<store::DurableStore> store = nullptr)
      : broker(options(count, std::move(store))) {
    for (uint32_t i = 0; i < count; ++i) {
      auto h = std::make_unique<MemoryHost>(broker, i, session::Limits{});
      hosts.push_back(h.get());
      broker.add_host(std::move(h));
    }
  }
  static BrokerOptions options(uint32_t count, std::shared_ptr<store::DurableStore> store) {
    BrokerOptions o;
    o.threads = count;
    o.sys_interval = 0;
    o.store = std::move(store);
    return o;
  }
  // What the hosts' loops would do: each drains its inbox, a few rounds (a task may post more).
  void run_all() {
    for (int round = 0; round < 3; ++round) {
      for (auto* h : hosts) h->run_tasks();
    }
  }

  Broker broker;
  std::vector<MemoryHost*> hosts;
};

}  // namespace hydrant::core::test
