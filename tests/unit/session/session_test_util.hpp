// Test harness for the Sans-I/O session layer: an in-test Services backed by the real
// router::Router and router::SessionRegistry (one worker, no threads), for the TestClients of
// test_client.hpp. The harness only wires things together: every protocol decision under test is
// ClientLink's or Session's. (The session lifecycle across hosts is core::SessionHost's, tested
// against core itself in tests/unit/core/session_host_test.cpp.)
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
#include "router/router.hpp"
#include "router/session_registry.hpp"
#include "session/client_link.hpp"
#include "session/services.hpp"
#include "session/session.hpp"
#include "test_client.hpp"

namespace hydrant::session::test {

inline const Clock::time_point kT0{std::chrono::seconds(5000)};

class TestServices final : public Services {
 public:
  Limits lim;
  Clock::time_point t = kT0;
  metrics::Counters ctr;
  router::Router router;
  router::SessionRegistry registry;
  std::unordered_map<router::SessionId, std::unique_ptr<Session>> sessions;
  std::vector<fanout::MessageRef> published;  // every message routed, in order
  int wants_write_calls = 0;
  static constexpr uint32_t kWorker = 0;

  const Limits& limits() const override { return lim; }
  Clock::time_point now() const override { return t; }
  metrics::Counters& counters() override { return ctr; }
  // The protocol tests run without access rules; the rules have their own tests.
  auth::AccessControl access_control{auth::AccessOptions::open_mode()};
  auth::AccessControl& access() override { return access_control; }

  void open_session(ClientLink& link, bool clean_start) override {
    auto claim = registry.claim(link.client_id(), kWorker, clean_start);
    if (claim.previous && !claim.resumed) end_session(claim.previous->id);
    if (claim.resumed) {
      Session* s = sessions.at(claim.handle->id).get();
      if (s->link && s->link != &link) s->link->close_taken_over();
      s->link = nullptr;
      link.attach_session(s, /*session_present=*/true);
      return;
    }
    auto s = std::make_unique<Session>(claim.handle);
    s->limits = &lim;
    s->counters = &ctr;
    Session* raw = s.get();
    sessions.emplace(raw->id(), std::move(s));
    link.attach_session(raw, /*session_present=*/false);
  }

  void close_session(ClientLink& link, bool publish_will) override {
    Session* s = link.session();
    REQUIRE(s != nullptr);
    s->link = nullptr;
    if (s->will && publish_will) publish(s->will->msg);
    s->will.reset();
    if (s->expiry_interval == 0 && registry.release(*s->handle(), kWorker)) end_session(s->id());
  }

  void wants_write(ClientLink&) override { ++wants_write_calls; }

  bool note_exchange(std::string_view) override { return true; }
  size_t exchange_levels(std::string_view) override { return 1; }

  bool publish(const fanout::MessageRef& msg, std::span<const std::string> cc = {}) override {
    published.push_back(msg);
    if (msg->retain()) router.retain(msg);
    std::vector<router::Target> targets;
    std::vector<std::string_view> topics{msg->topic()};
    topics.insert(topics.end(), cc.begin(), cc.end());
    router.match(topics, msg->origin_session(), targets);
    for (auto& target : targets) {
      auto it = sessions.find(target.session);
      if (it == sessions.end()) continue;
      it->second->deliver(msg, target.qos, target.retain_as_published && msg->retain(),
                          std::move(target.subscription_ids), t);
    }
    return !targets.empty();
  }

  bool subscribe(Session& session, std::string_view filter,
                 const codec::SubscriptionOptions& options, uint32_t subscription_id) override {
    return router.subscribe(filter, session.handle(), options, subscription_id);
  }
  bool unsubscribe(Session& session, std::string_view filter) override {
    return router.unsubscribe(filter, *session.handle());
  }
  bool retained_after(std::string_view filter, std::string& after, size_t limit,
                      std::vector<fanout::MessageRef>& out) override {
    return router.retained_after(filter, after, limit, t, out);
  }

  Session* session_of(std::string_view client_id) {
    for (auto& [id, s] : sessions) {
      if (s->client_id() == client_id) return s.get();
    }
    return nullptr;
  }

 private:
  void end_session(router::SessionId id) {
    auto it = sessions.find(id);
    if (it == sessions.end()) return;
    Session& s = *it->second;
    if (s.link) s.link->close_taken_over();
    for (const auto& [filter, rec] : s.subscriptions) router.unsubscribe(filter, *s.handle());
    sessions.erase(it);
  }
};

}  // namespace hydrant::session::test
