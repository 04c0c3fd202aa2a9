// Router (subscription index, merge of overlapping subscriptions, shared groups, retained store)
// and SessionRegistry (client id -> session, takeover decisions).
#include <doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "router/router.hpp"
#include "router/session_registry.hpp"

using namespace hydrant;
using namespace hydrant::router;
using codec::SubscriptionOptions;
using fanout::Clock;
using fanout::Message;

namespace {

const Clock::time_point kT0{std::chrono::seconds(1000)};

HandleRef handle(SessionId id, uint32_t worker = 0) {
  return std::make_shared<SessionHandle>(id, "client-" + std::to_string(id), worker);
}

SubscriptionOptions qos(uint8_t q) {
  SubscriptionOptions o;
  o.max_qos = q;
  return o;
}

std::vector<Target> match(const Router& r, std::string_view topic, SessionId origin = 0) {
  std::vector<Target> out;
  r.match(topic, origin, out);
  return out;
}

std::vector<SessionId> sessions_of(const std::vector<Target>& targets) {
  std::vector<SessionId> ids;
  for (const auto& t : targets) ids.push_back(t.session);
  std::sort(ids.begin(), ids.end());
  return ids;
}

fanout::MessageRef retained(std::string_view topic, std::string_view payload,
                            std::optional<uint32_t> expiry = std::nullopt) {
  codec::Properties p;
  p.message_expiry_interval = expiry;
  return Message::create(topic, payload, 1, true, p, 0, kT0);
}

std::vector<std::string> topics_of(const std::vector<fanout::MessageRef>& msgs) {
  std::vector<std::string> out;
  for (const auto& m : msgs) out.emplace_back(m->topic());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("overlapping subscriptions of one session are merged into one Target") {
  Router r;
  auto h1 = handle(1, 3);
  auto h2 = handle(2, 5);
  CHECK(r.subscribe("a/+", h1, qos(1), 5));
  CHECK(r.subscribe("a/#", h1, qos(2), 7));
  CHECK(r.subscribe("a/b", h1, qos(0), 0));  // no subscription id: none added
  CHECK(r.subscribe("#", h2, qos(0), 0));
  CHECK(r.subscription_count() == 4);

  auto targets = match(r, "a/b");
  REQUIRE(targets.size() == 2);
  std::sort(targets.begin(), targets.end(),
            [](const Target& a, const Target& b) { return a.session < b.session; });
  const Target& t1 = targets[0];
  CHECK(t1.session == 1);
  CHECK(t1.worker == 3);
  CHECK(t1.handle == h1);
  CHECK(t1.qos == 2);  // the highest granted QoS [MQTT-3.3.4-3]
  auto ids = t1.subscription_ids;
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<uint32_t>{5, 7});  // every identifier [MQTT-3.3.4-5]
  CHECK(targets[1].session == 2);
  CHECK(targets[1].worker == 5);
  CHECK(targets[1].subscription_ids.empty());

  CHECK(sessions_of(match(r, "a")) == std::vector<SessionId>{1, 2});  // a/# matches a
  CHECK(sessions_of(match(r, "b")) == std::vector<SessionId>{2});
  CHECK(match(r, "$SYS/x").empty());  // wildcards at the first level skip $ topics
}

TEST_CASE("merged Target: retain-as-published if any matching subscription asks for it") {
  Router r;
  auto h = handle(1);
  SubscriptionOptions rap = qos(0);
  rap.retain_as_published = true;
  r.subscribe("x/y", h, qos(1), 0);
  r.subscribe("x/+", h, rap, 0);
  auto t = match(r, "x/y");
  REQUIRE(t.size() == 1);
  CHECK(t[0].retain_as_published);
  CHECK(t[0].qos == 1);
  t = match(r, "x/z");
  REQUIRE(t.size() == 1);
  CHECK(t[0].qos == 0);
}

TEST_CASE("subscribe replaces a session's subscription on the same filter") {
  Router r;
  auto h = handle(1);
  CHECK(r.subscribe("a", h, qos(0), 1));
  CHECK_FALSE(r.subscribe("a", h, qos(2), 9));
  CHECK(r.subscription_count() == 1);
  auto t = match(r, "a");
  REQUIRE(t.size() == 1);
  CHECK(t[0].qos == 2);
  CHECK(t[0].subscription_ids == std::vector<uint32_t>{9});

  CHECK(r.unsubscribe("a", *h));
  CHECK_FALSE(r.unsubscribe("a", *h));
  CHECK_FALSE(r.unsubscribe("never", *h));
  CHECK(r.subscription_count() == 0);
  CHECK(match(r, "a").empty());
}

TEST_CASE("no local excludes the publishing session only") {
  Router r;
  auto h1 = handle(1);
  auto h2 = handle(2);
  SubscriptionOptions nl = qos(1);
  nl.no_local = true;
  r.subscribe("t", h1, nl, 0);
  r.subscribe("t", h2, nl, 0);
  CHECK(sessions_of(match(r, "t", 1)) == std::vector<SessionId>{2});
  CHECK(sessions_of(match(r, "t", 2)) == std::vector<SessionId>{1});
  CHECK(sessions_of(match(r, "t", 3)) == std::vector<SessionId>{1, 2});

  // Another, overlapping subscription without no local still delivers to the origin.
  r.subscribe("#", h1, qos(0), 4);
  auto t = match(r, "t", 1);
  CHECK(sessions_of(t) == std::vector<SessionId>{1, 2});
  for (const auto& x : t) {
    if (x.session == 1) {
      CHECK(x.qos == 0);
      CHECK(x.subscription_ids == std::vector<uint32_t>{4});
    }
  }
}

TEST_CASE("subscription caps: per user across sessions, and in all") {
  Router r;
  r.set_subscription_limits(3, 5);
  auto a = std::make_shared<SessionHandle>(1, "ci-a", 0, "ci");
  auto b = std::make_shared<SessionHandle>(2, "ci-b", 0, "ci");
  auto anon = std::make_shared<SessionHandle>(3, "reader", 0);
  CHECK(r.subscription_refusal(*a) == nullptr);
  CHECK(r.subscribe("x/1", a, qos(0), 0));
  CHECK(r.subscribe("x/2", a, qos(0), 0));
  CHECK_FALSE(r.subscribe("x/2", a, qos(1), 0));  // replacing one does not count again
  CHECK(r.subscribe("x/3", b, qos(0), 0));
  // The user's third filter, held by its other session: both are at the cap now.
  REQUIRE(r.subscription_refusal(*a) != nullptr);
  CHECK(std::string_view(r.subscription_refusal(*b)).find("per-user") != std::string_view::npos);
  CHECK(r.subscription_refusal(*anon) == nullptr);  // anonymous: not a user's
  CHECK(r.unsubscribe("x/1", *a));
  CHECK(r.subscription_refusal(*b) == nullptr);
  // In all: 5, anonymous included.
  CHECK(r.subscribe("y/1", anon, qos(0), 0));
  CHECK(r.subscribe("y/2", anon, qos(0), 0));
  CHECK(r.subscribe("y/3", anon, qos(0), 0));
  CHECK(r.subscription_count() == 5);
  CHECK(std::string_view(r.subscription_refusal(*anon)).find("total") != std::string_view::npos);
  r.set_subscription_limits(0, 0);
  CHECK(r.subscription_refusal(*anon) == nullptr);
  CHECK(r.subscription_refusal(*a) == nullptr);
}

TEST_CASE("shared groups: one member per group per message, round robin") {
  Router r;
  std::vector<HandleRef> hs;
  for (SessionId id = 1; id <= 3; ++id) {
    hs.push_back(handle(id, static_cast<uint32_t>(id * 10)));
    CHECK(r.subscribe("$share/g/s/+", hs.back(), qos(1), static_cast<uint32_t>(id + 100)));
  }
  auto h9 = handle(9);
  r.subscribe("$share/other/s/#", h9, qos(2), 0);
  CHECK(r.subscription_count() == 4);

  std::map<SessionId, int> got;
  for (int i = 0; i < 6; ++i) {
    auto t = match(r, "s/x");
    REQUIRE(t.size() == 2);  // one for group g, one for group other
    for (const auto& x : t) {
      ++got[x.session];
      if (x.session == 9) {
        CHECK(x.qos == 2);
        CHECK(x.subscription_ids.empty());
      } else {
        CHECK(x.qos == 1);
        CHECK(x.worker == x.session * 10);
        CHECK(x.subscription_ids == std::vector<uint32_t>{static_cast<uint32_t>(x.session + 100)});
      }
    }
  }
  CHECK(got[1] == 2);
  CHECK(got[2] == 2);
  CHECK(got[3] == 2);
  CHECK(got[9] == 6);

  // A member leaves: the others share the load; the last one leaving removes the group.
  CHECK(r.unsubscribe("$share/g/s/+", *hs[1]));
  got.clear();
  for (int i = 0; i < 4; ++i) {
    for (const auto& x : match(r, "s/y")) ++got[x.session];
  }
  CHECK(got[1] == 2);
  CHECK(got[3] == 2);
  CHECK(got.count(2) == 0);
  CHECK(r.unsubscribe("$share/g/s/+", *hs[0]));
  CHECK(r.unsubscribe("$share/g/s/+", *hs[2]));
  CHECK(sessions_of(match(r, "s/y")) == std::vector<SessionId>{9});
  CHECK(r.subscription_count() == 1);
}

TEST_CASE("a session's shared and non-shared subscriptions are separate deliveries") {
  Router r;
  auto h = handle(1);
  r.subscribe("$share/g/t", h, qos(1), 0);
  r.subscribe("t", h, qos(0), 0);
  auto t = match(r, "t");
  REQUIRE(t.size() == 2);
  CHECK(t[0].session == 1);
  CHECK(t[1].session == 1);
  CHECK(t[0].qos + t[1].qos == 1);
}

TEST_CASE("retained store: set, replace, delete on empty payload, match") {
  Router r;
  std::vector<fanout::MessageRef> out;
  r.retain(retained("a/b", "1"));
  r.retain(retained("a/c", "2"));
  r.retain(retained("$SYS/x", "3"));
  CHECK(r.retained_count() == 3);

  r.retained_for("a/+", kT0, out);
  CHECK(topics_of(out) == std::vector<std::string>{"a/b", "a/c"});
  out.clear();
  r.retained_for("#", kT0, out);
  CHECK(topics_of(out) == std::vector<std::string>{"a/b", "a/c"});  // not $SYS
  out.clear();
  r.retained_for("$SYS/#", kT0, out);
  CHECK(topics_of(out) == std::vector<std::string>{"$SYS/x"});

  r.retain(retained("a/b", "new"));  // replace
  CHECK(r.retained_count() == 3);
  out.clear();
  r.retained_for("a/b", kT0, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0]->payload() == "new");

  r.retain(retained("a/b", ""));  // delete [MQTT-3.3.1-6]
  CHECK(r.retained_count() == 2);
  out.clear();
  r.retained_for("a/b", kT0, out);
  CHECK(out.empty());
  r.retain(retained("never/set", ""));  // deleting nothing is fine, and stores nothing
  CHECK(r.retained_count() == 2);
}

TEST_CASE("retained messages past their expiry are not returned") {
  Router r;
  r.retain(retained("e", "x", 5));
  std::vector<fanout::MessageRef> out;
  r.retained_for("e", kT0 + std::chrono::seconds(4), out);
  CHECK(out.size() == 1);
  out.clear();
  r.retained_for("e", kT0 + std::chrono::seconds(5), out);
  CHECK(out.empty());
}

TEST_CASE("SessionRegistry: claim a new client id") {
  SessionRegistry reg;
  auto c = reg.claim("a", 1, true);
  REQUIRE(c.handle);
  CHECK_FALSE(c.previous);
  CHECK_FALSE(c.resumed);
  CHECK(c.handle->client_id == "a");
  CHECK(c.handle->worker.load() == 1);
  auto d = reg.claim("b", 1, false);  // no session to resume: a new one
  CHECK_FALSE(d.resumed);
  CHECK_FALSE(d.previous);
  CHECK(d.handle->id != c.handle->id);
  CHECK(reg.size() == 2);
}

TEST_CASE("SessionRegistry: clean start 0 resumes, possibly on another worker") {
  SessionRegistry reg;
  auto first = reg.claim("a", 1, false);
  auto again = reg.claim("a", 2, false);
  CHECK(again.resumed);
  CHECK(again.handle == first.handle);
  CHECK(again.previous == first.handle);
  CHECK(again.previous_worker == 1);
  CHECK(first.handle->worker.load() == 2);
  CHECK(reg.size() == 1);
}

TEST_CASE("SessionRegistry: clean start 1 replaces the existing session") {
  SessionRegistry reg;
  auto first = reg.claim("a", 1, false);
  auto fresh = reg.claim("a", 2, true);
  CHECK_FALSE(fresh.resumed);
  CHECK(fresh.previous == first.handle);
  CHECK(fresh.previous_worker == 1);
  CHECK(fresh.handle != first.handle);
  CHECK(fresh.handle->id != first.handle->id);
  CHECK(fresh.handle->worker.load() == 2);
  CHECK(first.handle->worker.load() == 1);  // the old session is untouched; its owner ends it
  CHECK(reg.size() == 1);
  // The registry now maps the id to the new session.
  auto next = reg.claim("a", 2, false);
  CHECK(next.resumed);
  CHECK(next.handle == fresh.handle);
}

TEST_CASE("SessionRegistry: release") {
  SessionRegistry reg;
  SUBCASE("by the owner removes the entry") {
    auto c = reg.claim("a", 1, true);
    CHECK(reg.release(*c.handle, 1));
    CHECK(reg.size() == 0);
    auto again = reg.claim("a", 1, false);
    CHECK_FALSE(again.resumed);
    CHECK_FALSE(again.previous);
  }
  SUBCASE("refused when the session moved to another worker") {
    auto c = reg.claim("a", 1, false);
    reg.claim("a", 2, false);  // resumed on worker 2
    CHECK_FALSE(reg.release(*c.handle, 1));
    CHECK(reg.size() == 1);
    CHECK(reg.release(*c.handle, 2));
    CHECK(reg.size() == 0);
  }
  SUBCASE("of a replaced session leaves the replacement in place") {
    auto old = reg.claim("a", 1, false);
    auto fresh = reg.claim("a", 1, true);
    CHECK(reg.release(*old.handle, 1));
    CHECK(reg.size() == 1);
    auto next = reg.claim("a", 1, false);
    CHECK(next.resumed);
    CHECK(next.handle == fresh.handle);
  }
}

TEST_CASE("several topics (CC'd keys): each session and each shared group matched once") {
  Router r;
  auto a = handle(1), b = handle(2), c = handle(3), g1 = handle(4), g2 = handle(5);
  r.subscribe("ex/primary/#", a, qos(0), 7);
  r.subscribe("ex/route/#", a, qos(1), 7);  // the same identifier through two filters
  r.subscribe("ex/#", b, qos(0), 0);
  r.subscribe("ex/nothing", c, qos(0), 0);
  r.subscribe("$share/g/ex/#", g1, qos(0), 0);
  r.subscribe("$share/g/ex/#", g2, qos(0), 0);
  const std::string_view topics[] = {"ex/primary/x", "ex/route/y", "ex/route/z"};
  std::vector<Target> out;
  r.match(topics, 0, out);
  std::map<SessionId, int> seen;
  for (const auto& t : out) ++seen[t.session];
  CHECK(seen[1] == 1);
  CHECK(seen[2] == 1);
  CHECK(seen.count(3) == 0);
  CHECK(seen[4] + seen[5] == 1);  // the group once, not once per topic
  const auto ta = std::find_if(out.begin(), out.end(), [](const Target& t) { return t.session == 1; });
  REQUIRE(ta != out.end());
  CHECK(ta->qos == 1);
  CHECK(ta->subscription_ids == std::vector<uint32_t>{7});
}
