// Test harness for the Sans-I/O session layer: the TestClients of test_client.hpp connect to one
// in-memory core::SessionHost (tests/unit/core/memory_host.hpp), so the session layer is tested
// against the broker's own session lifecycle, not a copy of it. No sockets, no threads: the test
// sets the clock.
#pragma once

#include <initializer_list>

#include <doctest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "codec/codec.hpp"
#include "memory_host.hpp"
#include "router/router.hpp"
#include "session/client_link.hpp"
#include "session/services.hpp"
#include "session/session.hpp"
#include "test_client.hpp"

namespace hydrant::session::test {

inline const Clock::time_point kT0{std::chrono::seconds(5000)};

// The session tests' services: one core::SessionHost (with no sockets) of a real core::Broker,
// so every session decision — open, takeover, close, routing, wills — is the broker's own code.
// The members are what the tests read and set: the host's limits and clock, its counters, the
// router, and every message it routed.
struct TestServices {
  TestServices()
      : broker(1),
        host(*broker.hosts[0]),
        lim(host.limits_ref()),
        t(host.clock()),
        ctr(host.counters()),
        router(broker.broker.router()),
        published(host.published),
        wants_write_calls(host.wants_write_calls) {
    t = kT0;
  }
  operator Services&() { return host; }  // NOLINT: a TestClient connects to the host
  Session* session_of(std::string_view client_id) { return host.session_of(client_id); }
  size_t session_count() const { return host.session_count(); }

  core::test::MemoryBroker broker;
  core::test::MemoryHost& host;
  Limits& lim;
  Clock::time_point& t;
  metrics::Counters& ctr;
  router::Router& router;
  std::vector<fanout::MessageRef>& published;
  int& wants_write_calls;
};

}  // namespace hydrant::session::test
