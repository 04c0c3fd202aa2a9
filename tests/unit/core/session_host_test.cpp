// core::SessionHost without sockets: the session lifecycle — clean start, takeover, a session
// resumed on another host, expiry, wills — driven through real ClientLinks on two in-memory
// hosts of one real core::Broker (its Router and SessionRegistry). The test runs each host's
// loop duties (draining its inbox, expiring sessions) itself, so every step is deterministic.
#include <doctest.h>

#include <chrono>
#include <memory>

#include "memory_host.hpp"
#include "memory_store.hpp"
#include "test_client.hpp"

namespace hydrant::core {
namespace {

using codec::PacketType;
using session::test::publishes;
using session::test::TestClient;
using V = codec::ProtocolVersion;

using test::MemoryBroker;

// Two hosts, as two workers would be, and clients on them.
struct TwoHosts : MemoryBroker {
  TwoHosts() : MemoryBroker(2) {}
  // A client on host `h`, with a connection id unique across hosts.
  std::unique_ptr<TestClient> client(uint32_t h, V v = V::V5) {
    auto c = std::make_unique<TestClient>(*hosts[h], v, (uint64_t{h} << 40) + ++next_id);
    hosts[h]->plug(c->link());
    return c;
  }
  bool was_closed(uint32_t h, TestClient& c) { return hosts[h]->was_closed(c.link().conn_id()); }
  uint64_t next_id = 0;
};

codec::Properties expiry(uint32_t seconds) {
  codec::Properties p;
  p.session_expiry_interval = seconds;
  return p;
}

TEST_CASE("a clean start replaces the session: the old connection is taken over, its subscriptions end") {
  TwoHosts t;
  auto first = t.client(0);
  first->connect("device-1");
  first->subscribe(session::test::subscribe_packet(1, "sensors/#", 0));

  auto second = t.client(0);
  const auto ack = second->connect("device-1", /*clean_start=*/true);
  CHECK_FALSE(ack.session_present);
  CHECK(t.was_closed(0, *first));
  const auto told = first->take();
  REQUIRE_FALSE(told.empty());
  CHECK(told.back().as<codec::Disconnect>().reason_code == ReasonCode::SessionTakenOver);

  auto publisher = t.client(1);
  publisher->connect("publisher");
  publisher->send(session::test::publish_packet("sensors/1", "{\"t\":20}"));
  t.run_all();
  CHECK(publishes(second->take()).empty());  // the subscription went with the old session
}

TEST_CASE("a session resumed on another host moves there with its subscriptions") {
  TwoHosts t;
  auto first = t.client(0);
  first->connect("mover", /*clean_start=*/false, expiry(300));
  first->subscribe(session::test::subscribe_packet(1, "m/#", 1));

  auto second = t.client(1);
  second->send(session::test::connect_packet(V::V5, "mover", /*clean_start=*/false));
  CHECK(second->take().empty());  // the session is on host 0: host 1 asked for it
  t.run_all();                    // MigrateTask on host 0, ArriveTask on host 1
  const auto out = second->take();
  REQUIRE_FALSE(out.empty());
  CHECK(out[0].as<codec::Connack>().session_present);
  CHECK(t.was_closed(0, *first));

  auto publisher = t.client(0);
  publisher->connect("publisher");
  publisher->send(session::test::publish_packet("m/x", "{\"moved\":true}", 1, 7));
  t.run_all();  // delivered on host 1, where the session now lives
  auto got = publishes(second->take());
  REQUIRE(got.size() == 1);
  CHECK(got[0].topic == "m/x");
  CHECK(got[0].payload == "{\"moved\":true}");
  CHECK(publishes(first->take()).empty());
}

TEST_CASE("a disconnected session lasts its expiry interval, then is gone") {
  TwoHosts t;
  // A session with a 10 s expiry, offline for `offline` seconds: is it there to resume?
  const auto resumable_after = [&t](int offline) {
    auto first = t.client(0);
    first->connect("brief", /*clean_start=*/false, expiry(10));
    first->link().on_transport_closed();
    t.hosts[0]->clock() += std::chrono::seconds(offline);
    t.hosts[0]->expire();
    auto again = t.client(0);
    return again->connect("brief", /*clean_start=*/false, expiry(10)).session_present;
  };
  SUBCASE("resumed within the interval") { CHECK(resumable_after(5)); }
  SUBCASE("expired after it") { CHECK_FALSE(resumable_after(11)); }
}

TEST_CASE("a will goes out when the connection drops, not after a normal DISCONNECT") {
  TwoHosts t;
  auto watcher = t.client(1);
  watcher->connect("watcher");
  watcher->subscribe(session::test::subscribe_packet(1, "wills/#", 0));

  auto with_will = [&](const char* id, const char* will_topic) {
    auto c = t.client(0);
    auto packet = session::test::connect_packet(V::V5, id);
    packet.will = codec::Will{};
    packet.will->topic = will_topic;
    packet.will->payload = "{\"gone\":true}";
    c->send(packet);
    REQUIRE(c->take().at(0).type() == PacketType::Connack);
    return c;
  };
  auto dropped = with_will("dropped", "wills/dropped");
  auto polite = with_will("polite", "wills/polite");
  polite->send(codec::Disconnect{ReasonCode::Success, {}});
  polite->link().on_transport_closed();
  dropped->link().on_transport_closed();
  t.run_all();

  auto got = publishes(watcher->take());
  REQUIRE(got.size() == 1);
  CHECK(got[0].topic == "wills/dropped");
  CHECK(got[0].payload == "{\"gone\":true}");
}

TEST_CASE("core logs through the DurableStore seam and answers a QoS 1 publish only once it is durable") {
  auto store = std::make_shared<test::MemoryStore>();
  MemoryBroker t(1, store);
  auto c = std::make_unique<TestClient>(*t.hosts[0], V::V5, 1);
  t.hosts[0]->plug(c->link());
  c->connect("publisher");

  SUBCASE("durable: PUBACK 0x00") {
    c->send(session::test::publish_packet("exchange/pub/ci/build", "{\"ok\":true}", 1, 5));
    REQUIRE(store->messages().size() == 1);  // appended at once, with its sequence and position
    CHECK(store->messages()[0].msg->sequence() == 1);
    CHECK(c->take().empty());  // nothing before the store reports it durable
    store->complete(true);
    t.run_all();               // the completion comes back as a task to the publisher's host
    const auto out = c->take();
    REQUIRE(out.size() == 1);
    CHECK(out[0].as<codec::Ack>().type == PacketType::Puback);
    CHECK(out[0].as<codec::Ack>().packet_id == 5);
    CHECK(out[0].as<codec::Ack>().reason_code == ReasonCode::Success);
  }
  SUBCASE("not stored: PUBACK 0x97") {
    c->send(session::test::publish_packet("exchange/pub/ci/build", "{\"ok\":false}", 1, 6));
    store->complete(false);
    t.run_all();
    const auto out = c->take();
    REQUIRE(out.size() == 1);
    CHECK(out[0].as<codec::Ack>().reason_code == ReasonCode::QuotaExceeded);
  }
  SUBCASE("outside exchanges nothing is logged") {
    c->send(session::test::publish_packet("sensors/1", "x", 1, 7));
    CHECK(store->messages().empty());
    CHECK(c->take().at(0).as<codec::Ack>().packet_id == 7);
  }
}

}  // namespace
}  // namespace hydrant::core
