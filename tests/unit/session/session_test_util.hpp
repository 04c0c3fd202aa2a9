// Test harness for the Sans-I/O session layer: an in-test Services backed by the real
// router::Router and router::SessionRegistry (one worker, no threads), and a TestClient that feeds
// encoded packets into a ClientLink and decodes what it queued for sending. The harness only
// wires things together: every protocol decision under test is ClientLink's or Session's.
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

namespace hydrant::session::test {

using codec::Bytes;
using codec::PacketType;
using V = codec::ProtocolVersion;

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

// One decoded packet the link sent, with the bytes its views point into.
struct Sent {
  Bytes raw;
  codec::Packet packet;
  PacketType type() const { return codec::packet_type(packet); }
  template <class T>
  const T& as() const {
    REQUIRE(std::holds_alternative<T>(packet));
    return std::get<T>(packet);
  }
};

// Bytes from an annotated list of byte values.
inline Bytes bytes(std::initializer_list<int> b) {
  Bytes out;
  for (int x : b) out.push_back(static_cast<uint8_t>(x));
  return out;
}

inline Bytes encode(const codec::Packet& p, V v) {
  Bytes out;
  codec::encode(p, v, out);
  return out;
}

inline codec::Connect connect_packet(V v, std::string_view client_id, bool clean_start = true,
                                     uint16_t keep_alive = 0) {
  codec::Connect c;
  c.protocol_version = v;
  c.client_id = client_id;
  c.clean_start = clean_start;
  c.keep_alive = keep_alive;
  return c;
}

inline codec::Publish publish_packet(std::string_view topic, std::string_view payload,
                                     uint8_t qos = 0, uint16_t packet_id = 0, bool retain = false) {
  codec::Publish p;
  p.topic = topic;
  p.payload = payload;
  p.qos = qos;
  p.packet_id = packet_id;
  p.retain = retain;
  return p;
}

inline codec::Ack ack_packet(PacketType type, uint16_t id,
                             ReasonCode rc = ReasonCode::Success) {
  return codec::Ack{type, id, rc, {}};
}

inline codec::Subscribe subscribe_packet(uint16_t id, std::string_view filter, uint8_t qos = 0,
                                         uint8_t retain_handling = 0) {
  codec::Subscribe s;
  s.packet_id = id;
  codec::TopicSubscription ts;
  ts.filter = filter;
  ts.options.max_qos = qos;
  ts.options.retain_handling = retain_handling;
  s.subscriptions.push_back(ts);
  return s;
}

class TestClient {
 public:
  TestClient(TestServices& svc, V v, uint64_t conn_id = 1)
      : v_(v), link_(std::make_unique<ClientLink>(svc, conn_id, util::PeerAddress{}, svc.t)) {}
  // The connection goes away like a dropped socket, so that no session keeps a dangling link.
  ~TestClient() { link_->on_transport_closed(); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  ClientLink& link() { return *link_; }
  V version() const { return v_; }

  void feed(const Bytes& b) { link_->on_bytes(codec::ByteView(b.data(), b.size())); }
  void send(const codec::Packet& p) { feed(encode(p, v_)); }

  // Every packet the link queued since the last call, decoded in the connection's version.
  std::vector<Sent> take(V decode_as) {
    Bytes all;
    std::vector<iovec> iov(4096);
    for (;;) {
      const int n = link_->out().gather(iov.data(), static_cast<int>(iov.size()));
      if (n == 0) break;
      size_t got = 0;
      for (int i = 0; i < n; ++i) {
        const auto* p = static_cast<const uint8_t*>(iov[static_cast<size_t>(i)].iov_base);
        all.insert(all.end(), p, p + iov[static_cast<size_t>(i)].iov_len);
        got += iov[static_cast<size_t>(i)].iov_len;
      }
      link_->out().consume(got);
    }
    raw_ = all;
    std::vector<Sent> out;
    size_t pos = 0;
    while (pos < all.size()) {
      codec::ByteView rest(all.data() + pos, all.size() - pos);
      auto frame = codec::parse_frame(rest, codec::kMaxRemainingLength + 5);
      REQUIRE(frame.ok());
      REQUIRE(frame->has_value());
      const uint32_t size = (*frame)->total_size();
      REQUIRE(size <= rest.size());
      Sent s;
      s.raw.assign(rest.begin(), rest.begin() + size);
      auto packet = codec::decode(codec::ByteView(s.raw), decode_as);
      REQUIRE_MESSAGE(packet.ok(), "decode failed: ", packet.error().context);
      s.packet = std::move(packet.value());
      out.push_back(std::move(s));  // moving the vector keeps the bytes the views point into
      pos += size;
    }
    return out;
  }
  std::vector<Sent> take() { return take(v_); }
  // The raw bytes returned by the last take().
  const Bytes& last_raw() const { return raw_; }

  // CONNECT with clean start and the given properties; expects a successful CONNACK.
  codec::Connack connect(std::string_view client_id, bool clean_start = true,
                         const codec::Properties& props = {}, uint16_t keep_alive = 0) {
    auto c = connect_packet(v_, client_id, clean_start, keep_alive);
    c.properties = props;
    send(c);
    auto out = take();
    REQUIRE(out.size() >= 1);
    REQUIRE(out[0].type() == PacketType::Connack);
    codec::Connack ack = out[0].as<codec::Connack>();
    REQUIRE(ack.reason_code == ReasonCode::Success);
    REQUIRE(link_->state() == LinkState::Connected);
    // Properties of the CONNACK are views into out[0]: keep them alive with the client.
    kept_.push_back(std::move(out[0].raw));
    auto again = codec::decode(codec::ByteView(kept_.back()), v_);
    REQUIRE(again.ok());
    return std::get<codec::Connack>(again.value());
  }

  // SUBSCRIBE; returns the SUBACK's reason codes and leaves any retained PUBLISH for take().
  std::vector<ReasonCode> subscribe(const codec::Subscribe& s) {
    send(s);
    auto out = take();
    REQUIRE(out.size() >= 1);
    REQUIRE(out[0].type() == PacketType::Suback);
    CHECK(out[0].as<codec::Suback>().packet_id == s.packet_id);
    pending_.assign(std::make_move_iterator(out.begin() + 1), std::make_move_iterator(out.end()));
    return out[0].as<codec::Suback>().reason_codes;
  }
  std::vector<Sent> take_pending() {
    auto out = std::move(pending_);
    pending_.clear();
    auto more = take();
    for (auto& s : more) out.push_back(std::move(s));
    return out;
  }

 private:
  V v_;
  std::unique_ptr<ClientLink> link_;
  Bytes raw_;
  std::vector<Bytes> kept_;
  std::vector<Sent> pending_;
};

// The PUBLISH packets among `sent`; owns the bytes their views point into.
class Publishes {
 public:
  explicit Publishes(std::vector<Sent> sent) : sent_(std::move(sent)) {
    for (const auto& s : sent_) {
      if (s.type() == PacketType::Publish) list_.push_back(s.as<codec::Publish>());
    }
  }
  size_t size() const { return list_.size(); }
  bool empty() const { return list_.empty(); }
  const codec::Publish& operator[](size_t i) const { return list_.at(i); }
  std::vector<codec::Publish>& list() { return list_; }

 private:
  std::vector<Sent> sent_;
  std::vector<codec::Publish> list_;
};

inline Publishes publishes(std::vector<Sent> sent) { return Publishes(std::move(sent)); }

}  // namespace hydrant::session::test
